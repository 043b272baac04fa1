"""Adversarial submissions: the correct solution with hostile code injected into one place — at the top
level, while definitions load, inside one graded function.

Each case checks that grading ends within its time limits plus a small margin, that only what
the hostile code touched loses points, that nothing outside the sandbox changed, and that the report
says what happened. Limits are shortened (tests/hostile.py: fast) so a case costs seconds. The other
hostile suites: test_exfiltration (nothing reachable or readable), test_tampering (no made-up success),
test_hostile_notebooks (files that are not notebooks, absurd code).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace

import pytest

from grader import data
from tests import hostile as h

pytestmark = pytest.mark.usefixtures("sandboxed")
NG = h.NUMERICAL_GRAD_SECONDS
BASE = h.BASE_SECONDS


def _digest(*paths) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


# --- the baseline: the untouched solution ------------------------------------------------------


def test_solution_gets_full_marks_quickly(fast, settings):
    g = h.grade(h.solution_cells(), fast, settings)
    g.assert_full_except()
    assert g.report.notes == ()
    g.assert_within(BASE)


# --- top-level code and code that runs while definitions load ------------------------------------


def test_top_level_infinite_loop_is_not_run_in_definitions_mode(fast, settings):
    g = h.grade([*h.solution_cells(), "while True:\n    pass\n"], fast, settings)
    g.assert_full_except()
    assert any("not run (only definitions are graded): while True:" in n for n in g.report.notes), g.report.notes
    g.assert_within(BASE)


def test_top_level_infinite_loop_in_full_mode_is_skipped_after_its_limit(fast, settings):
    g = h.grade([*h.solution_cells(), "while True:\n    pass\n"], replace(fast, mode="full"), settings)
    g.assert_full_except()
    assert any("line 1: did not finish within 2 s and was skipped" in n for n in g.report.notes), g.report.notes
    g.assert_within(h.STATEMENT_SECONDS + BASE)


LOAD_TIME = {
    "class_body_loop": ("class Evil:\n    while True:\n        pass\n", "did not finish within 2 s and was skipped"),
    "decorator_loop": ("class Evil:\n    @(lambda f: next(x for x in iter(int, 1) if x))\n    def helper(self):\n"
                       "        pass\n", "did not finish within 2 s and was skipped"),
    "decorator_loop_top_level": ("@(lambda f: next(x for x in iter(int, 1) if x))\ndef helper():\n    pass\n",
                                 "did not finish within 2 s and was skipped"),
    "default_argument_loop": ("def helper(x=next(x for x in iter(int, 1) if x)):\n    return x\n",
                              "did not finish within 2 s and was skipped"),
    "default_argument_os_exit": ("def helper(x=__import__('os')._exit(0)):\n    return x\n",
                                 "ended the process and was skipped"),
    "class_body_kills_harness": ("class Evil:\n    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n",
                                 "ended the process and was skipped"),
    "class_body_kills_everything": ("class Evil:\n    import os\n    os.kill(-1, 9)\n",
                                    "ProcessLookupError"),  # kill(-1) spares the caller
    "class_body_sys_exit": ("class Evil:\n    raise SystemExit(0)\n", "SystemExit"),
    "class_body_memory": ("class Evil:\n    import numpy\n    big = numpy.ones(10**10)\n", "MemoryError"),
    # a daemon that outlives its statement, reading the harness's stdin to steal its commands
    "class_body_stdin_thief": ("class Evil:\n    import os\n    if os.fork() == 0:\n        os.setsid()\n"
                               "        while True:\n            os.read(0, 1 << 20)\n", None),
}


@pytest.mark.parametrize("case", sorted(LOAD_TIME))
def test_hostile_code_run_while_loading_definitions(case, fast, settings):
    code, note = LOAD_TIME[case]
    g = h.grade([*h.solution_cells(), code], fast, settings)
    g.assert_full_except()
    if note is not None:
        assert any(n.startswith("cell 6, line ") and note in n for n in g.report.notes), g.report.notes
    g.assert_within(h.STATEMENT_SECONDS + BASE)


def test_hostile_default_argument_of_a_graded_function(fast, settings):
    cells = h.substitute(h.solution_cells(), "def numerical_grad(f, x):",
                         "def numerical_grad(f, x, _=__import__('os')._exit(0)):")
    g = h.grade(cells, fast, settings)
    g.assert_full_except("numerical_grad")
    assert g.unit("numerical_grad").score == 0
    assert all("`numerical_grad` is not defined in your notebook: its definition in cell 3 failed" in m
               for m in g.messages("numerical_grad")), g.messages("numerical_grad")
    assert any("cell 3, line 1: ended the process and was skipped" in n for n in g.report.notes), g.report.notes
    g.assert_within(BASE)


def test_printing_50_mb_while_loading_is_truncated(fast, settings):
    code = "class Noisy:\n    import sys\n    sys.stdout.write('spam' * 12_500_000)\n"
    g = h.grade([*h.solution_cells(), code], fast, settings)
    g.assert_full_except()
    assert g.report.output.startswith("spam") and g.report.output.endswith("[... output truncated]")
    assert len(g.json) < 40_000  # 50 MB printed; the report (every check in four languages) stays small
    g.assert_within(BASE)


# --- hostile code inside one graded function ---------------------------------------------------

# Injected first thing into numerical_grad, which no other unit calls: (code, message, hangs).
IN_FUNCTION = {
    "infinite_loop": ("while True:\n    pass", f"did not finish within {NG:g} s", True),
    "sleep_forever": ("import time\ntime.sleep(10**6)", f"did not finish within {NG:g} s", True),
    "ignores_sigterm": ("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass",
                        f"did not finish within {NG:g} s", True),
    "sys_exit": ("import sys\nsys.exit(0)", "raised SystemExit", False),
    "os_exit": ("import os\nos._exit(0)", "ended (exit code 0) before it returned", False),
    "kills_itself": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "ended (exit code -9)", False),
    # the harness dies with it: the grader restarts the sandbox and goes on with the next unit
    "kills_harness": ("import os\nos.kill(os.getppid(), 9)", "the grading process stopped while running", False),
    "kills_everything": ("import os\nos.kill(-1, 9)", "the grading process stopped while running", False),
    "allocates_1e10_floats": ("import numpy as np\nnp.ones(10**10)", "raised MemoryError", False),
    "allocates_until_it_fails": ("import numpy as np\nkeep = []\nwhile True:\n    keep.append(np.empty(10**7))",
                                 "raised MemoryError", False),
    "fork_bomb": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
                  f"did not finish within {NG:g} s", True),
    # children leave the unit's process group, so killing the group does not reach them
    "fork_bomb_setsid": ("import os\nwhile True:\n    try:\n        if os.fork() == 0:\n            os.setsid()\n"
                         "    except OSError:\n        pass", f"did not finish within {NG:g} s", True),
    "daemon_left_running": ("import os\nif os.fork() == 0:\n    os.setsid()\n    while True:\n        pass\n"
                            "raise RuntimeError('daemon started')", "raised RuntimeError: daemon started", False),
    "spins_200_threads": ("import threading\nfor _ in range(200):\n"
                          "    threading.Thread(target=lambda: [0 for _ in iter(int, 1)], daemon=True).start()",
                          # the limit stops them at a few dozen, unless the GIL makes starting them too slow
                          ("raised RuntimeError: can't start new thread", f"did not finish within {NG:g} s"), True),
    "writes_2_gb_file": ("with open('/tmp/big', 'wb') as fh:\n    for _ in range(2048):\n"
                         "        fh.write(bytes(1 << 20))", "raised OSError", False),
    "writes_to_dev_shm": ("with open('/dev/shm/big', 'wb') as fh:\n    fh.write(bytes(1 << 20))",
                          "raised OSError: [Errno 30] Read-only file system", False),
    "recursion": ("def down(n):\n    return down(n + 1)\ndown(0)", "raised RecursionError", False),
}


@pytest.mark.parametrize("case", sorted(IN_FUNCTION))
def test_hostile_code_in_a_graded_function(case, fast, settings):
    code, message, hangs = IN_FUNCTION[case]
    g = h.grade(h.in_numerical_grad(code), fast, settings)
    g.assert_full_except("numerical_grad")
    assert g.unit("numerical_grad").score == 0
    messages = g.messages("numerical_grad")
    assert len(messages) == len(fast.units["numerical_grad"].checks)
    assert any(m in messages[0] for m in (message if isinstance(message, tuple) else [message]))
    g.assert_within((NG if hangs else 0) + BASE)


def test_loop_on_tensors_in_relu_backward_costs_only_those_checks(fast, settings):
    cells = h.substitute(h.solution_cells(), "        dx = dout.copy()\n        dx[self.mask] = 0",
                         "        while dout.ndim > 2:\n            pass\n"
                         "        dx = dout.copy()\n        dx[self.mask] = 0")
    g = h.grade(cells, fast, settings)
    g.assert_full_except("Relu")
    relu = {c.name: c for c in g.unit("Relu").checks}
    assert relu["forward"].passed and relu["backward"].passed
    for name in ("forward_tensor", "backward_tensor"):
        assert not relu[name].passed and f"did not finish within {h.UNIT_SECONDS:g} s" in relu[name].message
    g.assert_within(h.UNIT_SECONDS + BASE)


def test_printing_50_mb_in_a_graded_function(fast, settings):
    g = h.grade(h.in_numerical_grad("import sys\nsys.stdout.write('spam' * 12_500_000)\n"
                                    "sys.stderr.write('eggs' * 12_500_000)"), fast, settings)
    g.assert_full_except()
    assert len(g.json) < 40_000  # 50 MB printed; the report (every check in four languages) stays small
    g.assert_within(BASE)


def test_deleting_and_overwriting_files(fast, settings, tmp_path):
    marker = tmp_path / "marker.txt"
    marker.write_text("keep me")
    visible = [*sorted(h.REPO.joinpath("grader", "inside").glob("*.py")), *data.train_files(settings).values()]
    before = _digest(marker, *visible, h.REPO / "grader" / "pipeline.py")
    code = f"""
    import os, shutil
    for target in ({str(tmp_path)!r}, {str(marker)!r}, {str(h.REPO)!r}, os.getcwd(), "/tmp", "/data", "/opt"):
        shutil.rmtree(target, ignore_errors=True)
    for root, dirs, files in [w for top in ("/tmp", "/data", "/opt", "/root") for w in os.walk(top)]:
        if "/lib/python3" in root:  # the runtime itself: read-only like the rest, and large
            continue
        for name in files:
            path = os.path.join(root, name)
            for attack in (os.remove, lambda p: os.truncate(p, 0), lambda p: open(p, "w").write("pwned")):
                try:
                    attack(path)
                except Exception:
                    pass
    """
    # in a class body (runs in the harness itself, before every unit) and in a graded function
    cells = [*h.in_numerical_grad(code), "class Vandal:\n" + "\n".join("    " + line for line in code.splitlines())]
    g = h.grade(cells, fast, settings)
    g.assert_full_except()
    assert _digest(marker, *visible, h.REPO / "grader" / "pipeline.py") == before
    assert marker.read_text() == "keep me"
    g.assert_within(BASE)



@pytest.mark.alone   # 3 GiB of the host's memory
@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are made only when the grader runs as root")
def test_processes_together_cannot_exceed_the_sandbox_memory(backprop, settings):
    """Six children holding 1 GiB each are each within the per-process limit; the sandbox's
    cgroup (3 GiB in all) kills some of them, and only this unit pays for it."""
    code = """
    import os, time, numpy as np
    pids = []
    for _ in range(6):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            block = np.ones(1 << 27)  # 1 GiB, every page written
            os.write(w, b"1")
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
        os.close(w)       # a child the OOM killer took ends the read (it holds the only write end)
        os.read(r, 1)
    time.sleep(0.5)
    alive = sum(os.waitpid(pid, os.WNOHANG) == (0, 0) for pid in pids)
    raise RuntimeError(f"{alive} GiB held at once")
    """
    g = h.grade(h.in_numerical_grad(code), h.fast(backprop, numerical_grad=15), settings)
    g.assert_full_except("numerical_grad")
    message = g.messages("numerical_grad")[0]
    if "GiB held at once" in message:
        assert int(message.split("RuntimeError: ")[1].split()[0]) < 3, message
    else:
        assert "ended" in message, message  # the OOM killer chose the unit's own process
