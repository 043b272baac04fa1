"""Sandbox entry point: load the student's definitions, then run unit commands.

Protocol (every frame kind is declared in wire.py): the grader sends `load`
on stdin; this process answers `stmt_start`/`stmt_done` per top-level
statement, then `loaded`. Each `run` command is executed in a forked child
(one per unit and variant), which streams one `probe` frame per probe to
this process; the result goes back as one `result` frame; `exit` (or the
end of stdin) ends the session. The child's stdout and stderr are captured
separately, so nothing a student prints can pass for a result.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import functools
import marshal
import operator
import os
import resource
import select
import signal
import sys
import time

sys.path[:0] = [p for p in os.environ.get("GRADER_SANDBOX_PATH", "").split(":") if p]

import numpy as np  # noqa: E402
from inside import probes, recorder, wire  # noqa: E402

# Bound before any student code runs, so monkeypatching the modules later cannot reach them.
_fork, _pipe, _read, _close, _dup2, _exit = os.fork, os.pipe, os.read, os.close, os.dup2, os._exit
_waitpid, _kill, _select, _now, _setpgid = os.waitpid, os.kill, select.select, time.monotonic, os.setpgid
_closerange, _open, _sleep, _listdir, _getpid = os.closerange, os.open, time.sleep, os.listdir, os.getpid
_write_frame, _encode, _take_frame = wire.write_frame, wire.encode, wire.take_frame
_describe = recorder.describe_exception
_RUN, _STMT_START, _STMT_DONE, _LOADED = wire.RUN, wire.STMT_START, wire.STMT_DONE, wire.LOADED
_PROBE, _RESULT = wire.PROBE, wire.RESULT
_LIMITS = {"cpu_seconds": resource.RLIMIT_CPU, "memory_bytes": resource.RLIMIT_AS,
           "file_size_bytes": resource.RLIMIT_FSIZE, "open_files": resource.RLIMIT_NOFILE,
           "max_processes": resource.RLIMIT_NPROC}
OUTPUT_CAP = 16 * 1024
# Every `__future__` feature's compiler flag: what a statement's code object carries on to the next
# statements, as IPython (codeop) carries them from cell to cell.
FUTURE_FLAGS = functools.reduce(operator.or_, (getattr(__future__, name).compiler_flag
                                                for name in __future__.all_feature_names), 0)
_OWN_PID_NAMESPACE = [False]  # set from the load command: True only inside bwrap's PID namespace
STRAY_SECONDS = 2.0  # how long kill_strays waits for the processes it killed to be gone


def apply_limits(limits: dict[str, int]) -> None:
    """Lower hard limits for this process and everything it starts (irreversible)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in _LIMITS.items():
        if key in limits:
            resource.setrlimit(which, (limits[key], limits[key]))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversize write fails instead of killing


def kill_strays() -> None:
    """End every process in the sandbox but this one and its init: nothing student code started
    (a daemon from a class body, a fork bomb that left its process group with setsid) may outlive
    the statement or unit that started it, hold the pids limit or read this process's stdin. A killed
    process may still run until it is scheduled (a reader blocked on stdin then takes what arrived there
    first, such as the next command), so this returns once every one of them is dead (or after
    STRAY_SECONDS)."""
    if _OWN_PID_NAMESPACE[0]:  # kill(-1) outside a PID namespace would reach the grader's own user
        try:
            _kill(-1, signal.SIGKILL)
        except OSError:
            pass
        deadline = _now() + STRAY_SECONDS
        while _strays_alive() and _now() < deadline:
            _sleep(0.001)


def _strays_alive() -> bool:
    """Whether a process other than this one and the namespace's init still runs (a zombie is dead)."""
    me = _getpid()
    for name in _listdir("/proc"):
        if name.isdigit() and int(name) not in (1, me):
            try:
                fd = _open(f"/proc/{name}/stat", os.O_RDONLY)
            except OSError:
                continue   # gone meanwhile
            try:
                state = _read(fd, 4096).rpartition(b")")[2].split()[:1]
            finally:
                _close(fd)
            if state and state[0] not in (b"Z", b"X"):
                return True
    return False


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # replaced or closed by student code
            pass


def fork() -> int:
    """fork(), waiting up to ~2 s while killed strays still hold the pids limit (EAGAIN)."""
    for _ in range(100):
        try:
            return _fork()
        except BlockingIOError:
            _sleep(0.02)
    return _fork()


def probe_frame(name: str, rec: recorder.Recorder) -> bytes:
    metas, arrays = {}, {}
    for key, value in rec.outputs.items():
        try:
            meta, array = wire.pack(value)
        except Exception as exc:  # a hostile __array__ or __float__
            rec.errors[key] = _describe(exc)
            continue
        metas[key] = meta
        if array is not None:
            arrays[key] = array
    return _encode(_PROBE(probe=name, outputs=metas, errors=rec.errors), arrays)


def swap_in(ns: dict, substitutes: bytes) -> None:
    """Run the reference definitions in a namespace of their own (with their own imports) and put
    into the student's exactly the objects they name, nothing else."""
    names, code = marshal.loads(substitutes)
    private: dict = {"__name__": "<reference>", "__builtins__": builtins}
    exec(code, private)
    ns.update({name: private[name] for name in names})


def child(ns: dict, command: dict, inputs: dict[str, dict], substitutes: bytes | None, result_w: int,
          out_w: int) -> None:
    """Runs in the forked process: student code only ever runs with these fds open."""
    _setpgid(0, 0)
    _dup2(_open(os.devnull, os.O_RDONLY), 0)
    _dup2(out_w, 1)
    _dup2(out_w, 2)
    _closerange(3, result_w)
    _closerange(result_w + 1, 65536)
    if substitutes is not None:  # compiled reference definitions, without source or docstrings
        swap_in(ns, substitutes)
        del substitutes
    for probe in command["probes"]:
        rec = probes.run_probe(ns, probe["kind"], inputs[probe["name"]], probe["params"])
        flush_output()
        _write_frame(result_w, probe_frame(probe["name"], rec))


def run_unit(ns: dict, command: dict, inputs: dict[str, dict], substitutes: bytes | None, result_fd: int) -> None:
    result_r, result_w = _pipe()
    out_r, out_w = _pipe()
    pid = fork()
    if pid == 0:
        try:
            child(ns, command, inputs, substitutes, result_w, out_w)
        finally:
            _exit(0)
    _close(result_w)
    _close(out_w)
    deadline = _now() + float(command["timeout"])
    data, output, status, code, done, oversize = bytearray(), bytearray(), "ok", None, False, False
    open_fds = [result_r, out_r]
    while open_fds and not oversize:  # more results than a frame may hold: stop the child now
        remaining = deadline - _now()
        if remaining <= 0:
            status = "timeout"
            break
        ready, _, _ = _select(open_fds, [], [], min(remaining, 0.5))
        for fd in ready:
            chunk = _read(fd, 1 << 20)
            if not chunk:
                open_fds.remove(fd)
            elif fd == result_r:
                data += chunk
                oversize = len(data) > wire.MAX_FRAME
            elif fd == out_r and len(output) < OUTPUT_CAP:
                output += chunk
        if not done and not oversize:
            done, wait_status = _waitpid(pid, os.WNOHANG)
            code = os.waitstatus_to_exitcode(wait_status) if done else None
        elif not ready:
            break  # exited, but its own children still hold the pipes open
    for target in (-pid, pid):
        try:
            _kill(target, signal.SIGKILL)
        except OSError:
            pass
    kill_strays()
    if not done:
        _, wait_status = _waitpid(pid, 0)
        code = None if status == "timeout" else os.waitstatus_to_exitcode(wait_status)
    _close(result_r)
    _close(out_r)
    frames, arrays, bad_frame = [], {}, None
    while data:
        try:
            frame = _take_frame(data)
        except wire.WireError as exc:
            bad_frame = "oversize" if oversize or "too large" in str(exc) else "malformed"
            break
        if frame is None:  # cut short: the child died mid-write, or wrote more than a frame may hold
            bad_frame = "oversize" if oversize else "malformed"
            break
        header, found = frame
        frames.append(header)
        arrays.update({f"{header.get('probe')}/{k}": v for k, v in found.items()})
    _write_frame(result_fd, _encode(_RESULT(unit=command["unit"], status=status, exit_code=code, probes=frames,
                                            bad_frame=bad_frame, output=output[:OUTPUT_CAP].decode(errors="replace")),
                                    arrays))


def load(ns: dict, command: dict, result_fd: int) -> None:
    """Each statement compiled alone (its own line numbers), with the `__future__` features the
    statements before it imported."""
    skip = set(command.get("skip", []))
    flags = 0
    for stmt in command["statements"]:
        if stmt["id"] in skip:
            continue
        _write_frame(result_fd, _encode(_STMT_START(id=stmt["id"])))
        error = None
        try:
            tree = compile(stmt["source"], stmt["filename"], "exec", ast.PyCF_ONLY_AST | flags, dont_inherit=True)
            ast.increment_lineno(tree, stmt["line"] - 1)  # tracebacks name the cell's own line numbers
            code = compile(tree, stmt["filename"], "exec", flags, dont_inherit=True)
            flags |= code.co_flags & FUTURE_FLAGS  # a `from __future__` import holds for what follows
            exec(code, ns)
        except BaseException as exc:  # noqa: B036 - SystemExit in a class body is the student's error
            error = _describe(exc)
        flush_output()  # what it printed reaches the report, and before any reference code comes in
        _write_frame(result_fd, _encode(_STMT_DONE(id=stmt["id"], error=error)))
    kill_strays()
    _write_frame(result_fd, _encode(_LOADED()))


def main() -> None:
    result_fd = int(sys.argv[1])
    header, _ = wire.read_frame(0)
    apply_limits(header.get("limits", {}))
    _OWN_PID_NAMESPACE[0] = header.get("own_pid_namespace") is True
    file_inputs = {name: np.load(path, mmap_mode="r", allow_pickle=False)
                   for name, path in header.get("files", {}).items()}
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    load(ns, header, result_fd)
    while True:
        try:
            command, arrays = wire.read_frame(0)
        except EOFError:
            break
        if not _RUN.of(command):  # `exit`, or anything else
            break
        inputs: dict[str, dict] = {}
        for probe in command["probes"]:
            inputs[probe["name"]] = {
                **{k: file_inputs[v] for k, v in probe.get("files", {}).items()},
                **{k: arrays[f"{probe['name']}/{k}"] for k in probe.get("inputs", [])},
            }
        substitutes = arrays.pop("substitutes", None)
        run_unit(ns, command, inputs, None if substitutes is None else substitutes.tobytes(), result_fd)
        del substitutes, arrays
    _exit(0)


if __name__ == "__main__":
    main()
