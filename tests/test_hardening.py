"""Sandbox hardening, one case per rule, each judged from outside the sandbox.

Identity (a host UID per sandbox), bounded writes, neutral mounts, the CPU cap, reference code kept
out of printed output, terminal-safe tables, honest frame errors (the syscall filter:
test_syscall_filter.py). The hostile code is injected into the solution (tests/hostile.py), so
everything it does not break must still earn full marks.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from grader import data
from grader.reports import to_csv, to_table
from tests import hostile as h
from tests.hostile import LIBC, in_class_body, printed

pytestmark = pytest.mark.usefixtures("sandboxed")


def _sandbox_uids() -> set[int]:
    """Real UIDs of this test's sandboxed interpreters, read from the host's /proc."""
    parents, uids, found = {}, {}, set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        parents[int(pid)] = int(fields["PPid"])
        if cmdline.startswith(b"/opt/runtime/") and b"/opt/harness/inside/main.py" in cmdline:
            uids[int(pid)] = int(fields["Uid"].split()[0])
    for pid, uid in uids.items():
        ancestor = pid
        while ancestor > 1 and ancestor != os.getpid():
            ancestor = parents.get(ancestor, 0)
        if ancestor == os.getpid():
            found.add(uid)
    return found


# --- 1. identity: per-user kernel quotas are not the grader's ---------------------------------


def test_sandbox_runs_as_its_own_host_user_and_cannot_starve_the_hosts_inotify(fast, settings):
    code = """
    import ctypes, os, time
    libc = ctypes.CDLL(None, use_errno=True)
    held, errors = [], set()
    for _ in range(200):
        fd = libc.inotify_init1(0)
        if fd < 0:
            errors.add(os.strerror(ctypes.get_errno()))
        else:
            held.append(fd)
    time.sleep(1.5)
    raise RuntimeError("INOTIFY held=%d errors=%s" % (len(held), sorted(errors)))
    """
    host_failures, host_ok, seen_uids, done = [], [0], set(), threading.Event()

    def watch():
        while not done.is_set():
            fd = LIBC.inotify_init1(os.O_CLOEXEC)
            if fd < 0:
                host_failures.append(os.strerror(ctypes.get_errno()))
            else:
                os.close(fd)
                host_ok[0] += 1
            seen_uids.update(_sandbox_uids())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        g = h.grade(h.in_numerical_grad(code), h.fast(fast, numerical_grad=5), settings)
    finally:
        done.set()
        watcher.join()
    g.assert_full_except("numerical_grad")
    assert "INOTIFY held=0 errors=['Operation not permitted']" in g.messages("numerical_grad")[0]
    assert host_ok[0] > 0 and host_failures == []
    assert seen_uids, "no sandboxed interpreter seen"
    if os.geteuid() == 0:
        assert seen_uids <= set(settings.sandbox_uids) and 0 not in seen_uids, seen_uids
    else:  # documented: unprivileged, the sandbox shares the grader's per-user quotas
        assert seen_uids == {os.getuid()}


# --- 2. writes: only a sized /tmp is writable, with or without cgroups -------------------------


@pytest.mark.alone   # the host's free memory and disk
def test_writes_beyond_the_scratch_space_fail_and_leave_the_host_as_it_was(fast, settings):
    """2 GiB tried in each place, all kept until the end: the host's free memory, sampled all along,
    and its free disk would drop by GiBs if any place but /tmp took them."""
    code = """
    import errno, json, os, time
    places = ["/", "/opt", "/opt/runtime", "/opt/runtime/site/numpy", "/opt/harness/inside",
              "/opt/harness/inside/__pycache__", "/usr",
              "/usr/lib/python3/dist-packages", "/usr/local/lib", "/dev", "/dev/shm", "/proc", "/tmp"]
    written, chunk = {}, bytes(1 << 20)
    for place in places:
        total, why = 0, "no error"
        try:
            with open(os.path.join(place, "fill"), "wb", buffering=0) as fh:
                for _ in range(2048):
                    total += fh.write(chunk)
        except OSError as exc:
            why = errno.errorcode.get(exc.errno, str(exc.errno))
        written[place] = [total >> 20, why]
    time.sleep(1.0)
    print("WRITES", json.dumps(written))
    """
    disk, memory, lowest, done = shutil.disk_usage("/").free, _mem_available(), [_mem_available()], threading.Event()

    def sample():
        while not done.wait(0.05):
            lowest[0] = min(lowest[0], _mem_available())

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        g = h.grade(in_class_body(code), fast, settings)
    finally:
        done.set()
        sampler.join()
    g.assert_full_except()
    written = printed(g.report, "WRITES")
    tmp_mb, tmp_error = written.pop("/tmp")
    assert tmp_mb <= fast.limits.scratch_mb and tmp_error in ("ENOSPC", "EFBIG")
    assert all(mb == 0 for mb, _ in written.values()), written
    assert {why for _, why in written.values()} <= {"EROFS", "EACCES", "ENOENT"}, written
    # other processes share this machine: allow for their noise, far below the 2 GiB tried per place
    assert shutil.disk_usage("/").free > disk - (512 << 20)
    assert lowest[0] > memory - (1 << 30), (memory - lowest[0]) >> 20


def _mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) << 10
    raise AssertionError("no MemAvailable")


# --- 3. nothing inside names the host's layout ------------------------------------------------


def test_nothing_inside_names_host_paths(fast, settings):
    code = """
    import json, os, re
    texts = []
    for path in ("/proc/self/mountinfo", "/proc/1/mountinfo", "/proc/self/maps", "/proc/self/environ",
                 "/proc/self/cmdline", "/proc/1/cmdline"):
        with open(path, "rb") as fh:
            texts.append(fh.read().decode(errors="replace").replace("\\0", " "))
    for fd in os.listdir("/proc/self/fd"):  # loops, not comprehensions: a class body's names are not theirs
        if os.path.exists("/proc/self/fd/" + fd):
            texts.append(os.readlink("/proc/self/fd/" + fd))
    texts.append(os.getcwd())
    paths = set()
    for text in texts:
        paths.update(re.findall(r"/[^\\s,]*", text))
    print("PATHS", json.dumps(sorted(paths)))
    """
    g = h.grade(in_class_body(code), fast, settings)
    g.assert_full_except()
    paths = " ".join(printed(g.report, "PATHS"))
    assert "/opt/runtime" in paths and "/tmp" in paths and "/memfd:" in paths  # it did read them
    cache = data.train_files(settings)["x_train"].parent
    hosts = {str(h.REPO), str(h.REPO.parent), str(Path.home()), str(settings.cache_dir), str(cache),
             sys.prefix, sys.base_prefix, os.path.realpath(sys.base_prefix)}
    for host in hosts - {"/", "/tmp"}:  # the sandbox's own folders, when a clone sits right under one (/tmp/x)
        assert host not in paths, host


def test_the_harness_loads_from_bytecode_that_matches_its_source(fast, settings):
    """The sandbox cannot write a bytecode cache: the grader mounts one beside the harness (a compile
    less per sandbox), hash-checked, so Python takes it only while it matches the mounted source."""
    code = """
    import importlib.util, json, sys
    found = {}
    for name in ("calls", "network", "probes", "recorder", "wire"):
        module = sys.modules["inside." + name]
        with open(module.__file__, "rb") as fh:
            source = fh.read()
        with open(module.__spec__.cached, "rb") as fh:
            head = fh.read(16)
        found[name] = [module.__spec__.cached, head[:4] == importlib.util.MAGIC_NUMBER,
                       int.from_bytes(head[4:8], "little"), head[8:] == importlib.util.source_hash(source)]
    print("BYTECODE", json.dumps(found))
    """
    g = h.grade(in_class_body(code), fast, settings)
    g.assert_full_except()
    for name, (cached, magic, flags, matches) in printed(g.report, "BYTECODE").items():
        assert cached.startswith("/opt/harness/inside/__pycache__/" + name + ".") and magic and matches, name
        assert flags == 0b11, (name, flags)   # hash-based and checked against the source


# --- 4. a CPU hog slows only itself ------------------------------------------------------------


def _cpu_controller() -> bool:
    v2 = Path("/sys/fs/cgroup/cgroup.subtree_control")
    return "cpu" in v2.read_text().split() if v2.exists() else Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").exists()


@pytest.mark.alone   # a CPU share: nothing else may load the machine
@pytest.mark.skipif(os.geteuid() != 0, reason="per-sandbox cgroups (and their CPU cap) need the grader to run as root")
@pytest.mark.skipif(not _cpu_controller(), reason="the cgroup cpu controller is not available here")
def test_cpu_hog_beside_a_correct_notebook_slows_only_itself(fast, settings):
    """Alone and beside a hog, interleaved (this machine is shared: its load changes by the second),
    the correct notebook's best time beside the hog stays within 1.5x of its worst time alone
    (two rounds, a third when the first two do not show it)."""
    hog = h.in_numerical_grad("""
    import os
    for _ in range(24):
        if os.fork() == 0:
            break
    while True:
        pass
    """)
    hog_assignment = h.fast(fast, numerical_grad=12.0)
    alone, beside = [], []
    for _ in range(3):  # more rounds only while the shared machine's noise hides the answer
        if len(alone) >= 2 and min(beside) < 1.5 * max(alone):
            break
        alone.append(h.grade(h.solution_cells(), fast, settings).seconds)
        hogging = threading.Thread(target=h.grade, args=(hog, hog_assignment, settings, "hog.ipynb"))
        hogging.start()
        time.sleep(2.0)  # its sandbox is up and spinning
        g = h.grade(h.solution_cells(), fast, settings)
        beside.append(g.seconds)
        hogging.join()
        g.assert_full_except()
    assert min(beside) < 1.5 * max(alone), (alone, beside)


# --- 5. reference code substituted for a dependency never reaches the report --------------------


def test_output_printed_while_reference_code_is_inside_is_withheld(fast, settings):
    """A class body hijacks the harness's run_unit and prints every command it gets, with the
    substituted reference code; that part of the output stays out of the report. (A cross_entropy_error
    twice too large fails SoftmaxWithLoss's own run, so the unit runs again with the reference's.)"""
    code = """
    import sys
    main = sys.modules["__main__"]
    original = main.run_unit
    def run_unit(ns, command, inputs, substitutes, fd, original=original, sys=sys):
        print("SEEN", command["unit"], "REFCODE" + substitutes.hex() if substitutes else "")
        sys.stdout.flush()
        return original(ns, command, inputs, substitutes, fd)
    main.run_unit = run_unit
    """
    cells = h.substitute(in_class_body(code), "return float(-np.sum(", "return 2 * float(-np.sum(")
    g = h.grade(cells, fast, settings)
    assert g.full("numerical_grad") and "unit:SoftmaxWithLoss:reference_deps" in g.report.timings
    assert "SEEN numerical_grad:own" in g.report.output  # the channel works before reference code comes in
    assert "REFCODE" not in g.json and ":reference_deps" not in g.report.output
    assert g.report.output.endswith("[output printed while reference code was substituted is not shown]")


# --- 6. the grader's own output: no control characters from students in the table -----------------

FORGED_ROW = "\x1b]0;pwned\x07\r\x1b[2K39/39 \x1b[32mall passed\x1b[0m\u202e"


def test_table_shows_student_text_with_control_characters_escaped(fast, settings):
    g = h.grade(h.in_numerical_grad(f"raise RuntimeError({FORGED_ROW!r})"), fast, settings,
                name="=cmd|' /C calc'!A0\x1b[2J.ipynb")
    table = to_table([g.report], list(fast.units))
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", table), repr(table)
    assert "\\x1b]0;pwned\\x07\\r\\x1b[2K39/39" in table  # shown, harmlessly
    message = json.loads(g.json)["units"]["numerical_grad"]["checks"][0]["message"]
    assert FORGED_ROW in message  # the JSON stays exact
    row = to_csv([g.report], list(fast.units)).splitlines()[1]
    assert row.startswith("'=cmd|")  # a spreadsheet shows it as text instead of running it


# --- 7. oversize and malformed answers are reported as such -----------------------------------

FRAMES = {
    "oversize": ("return np.zeros(9 << 20)", "could not be read: it is larger than the 64 MB"),
    "malformed": ("import os, struct\nfor fd in range(3, 64):\n    try:\n"
                  "        os.write(fd, struct.pack('>II', 5, 0) + b'{bad}')\n    except OSError:\n        pass\n"
                  "os._exit(0)", "could not be read: it was cut short or malformed"),
}


@pytest.mark.parametrize("case", sorted(FRAMES))
def test_bad_frames_are_reported_honestly(case, fast, settings):
    code, message = FRAMES[case]
    g = h.grade(h.in_numerical_grad(code), fast, settings)
    g.assert_full_except("numerical_grad")
    messages = g.messages("numerical_grad")
    assert all(message in m and "exit code" not in m for m in messages), messages
