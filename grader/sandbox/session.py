"""The sandbox: one bubblewrap-isolated interpreter per submission.

This is the only module that starts student code. The process sees the
staged Python runtime with numpy (runtime.py), the harness and the
data it is given (read-only, copied in, so no mount names a host path), a
size-capped scratch /tmp and nothing else writable, no network, no other
processes, no environment from the grader (but its BLAS and SIMD choice), and a syscall filter
(seccomp.py). As root, the grader starts each sandbox under a host
UID of its own (identities.py) inside its own cgroup (cgroups.py). Limits are applied by the harness before any student
code runs, and the wall clock is enforced from here.
"""

from __future__ import annotations

import fcntl
import functools
import importlib.util
import marshal
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from grader.config import Settings
from grader.inside import wire
from grader.sandbox import identities, runtime, seccomp
from grader.sandbox.cgroups import SandboxCgroups
from grader.types import Limits

HARNESS_DIR = Path(__file__).resolve().parent.parent / "inside"
HARNESS_MOUNT = "/opt/harness/inside"   # the harness's folder inside the sandbox
SANDBOX_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "LANG": "C.UTF-8", "HOME": "/tmp", "PYTHONIOENCODING": "utf-8"}
# The one part of the grader's environment the sandbox gets: which BLAS kernels and numpy SIMD loops run.
# The trusted side computes reference and mutant values with its own choice; where the student's code
# computed with another (an AVX-512 kernel beside a Haswell one), the same arithmetic differs in the last
# bits, and a diagnosis that tells a structural zero from rounding would depend on the operator's setting.
ARITHMETIC = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES")
# Package folders a student could add to sys.path by hand: covered by read-only empty mounts.
HIDDEN = ("/usr/lib/python3/dist-packages", "/usr/local/lib")
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


def arithmetic_env() -> dict[str, str]:
    """The grader's own ARITHMETIC settings, those it has."""
    return {k: os.environ[k] for k in ARITHMETIC if k in os.environ}


def sandbox_env(**extra: str) -> dict[str, str]:
    """The sandbox's whole environment: fixed values, the grader's arithmetic settings, `extra`."""
    return {**SANDBOX_ENV, **arithmetic_env(), **extra}


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot run here and the operator has not allowed unsandboxed grading."""


class SandboxLost(RuntimeError):
    """The sandboxed process ended or stopped answering; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sandbox_problem(settings: Settings) -> str | None:
    """Why bubblewrap cannot isolate a process on this machine, or None if it can (tried as a
    sandbox UID when the grader runs as root, since that is who will run it)."""
    return _problem(settings.sandbox_uids)


@functools.cache
def bwrap() -> str:
    """The bwrap on the grader's PATH, by its full path: the one checked is the one run (the sandbox's own
    environment has no PATH)."""
    return shutil.which("bwrap") or "bwrap"


@functools.cache
def _problem(uids: range | None) -> str | None:
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        seccomp.program()
        as_user = _as_user(uids.start) if uids is not None else []
        if uids is not None:
            identities.check_range(uids)
    except (seccomp.UnsupportedArch, ValueError) as exc:
        return str(exc)
    probe = subprocess.run([*as_user, bwrap(), "--ro-bind", "/", "/", "--unshare-all", "--unshare-user",
                            "--die-with-parent", "true"], capture_output=True, text=True, env={})
    if probe.returncode != 0:
        return f"bwrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return None


def _as_user(uid: int) -> list[str]:
    """Run the rest of the command as `uid`/gid `uid` with no supplementary groups (and so no
    capabilities): bwrap then creates a user namespace that this unprivileged UID owns."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


@functools.cache
def _sealed_copy(path: Path, name: str, mtime_ns: int, size: int) -> int:
    """A read-only in-memory copy of a data file, made once per process: the sandbox opens it
    through /proc/self/fd, so nothing in it names the file's host path, and seals forbid writes."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    with open(path, "rb") as source:
        while os.sendfile(fd, source.fileno(), None, 1 << 30):
            pass
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
    return fd


@functools.cache
def _harness_files() -> dict[str, bytes]:
    """The harness's sources (names under /opt/harness/inside) and, beside each module, its bytecode
    as a hash-checked .pyc (PEP 552): the sandbox's interpreter cannot write a cache, and compiling
    the harness anew cost every sandbox ~15-30 ms. A .pyc whose source hash differs is not used;
    main.py runs as a script, which Python always compiles."""
    files = {}
    for path in sorted(HARNESS_DIR.glob("*.py")):
        files[path.name] = source = path.read_bytes()
        if path.name != "main.py":
            code = compile(source, f"{HARNESS_MOUNT}/{path.name}", "exec", dont_inherit=True, optimize=0)  # as run
            files[f"__pycache__/{path.stem}.{sys.implementation.cache_tag}.pyc"] = (
                importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little")  # hash-based, checked
                + importlib.util.source_hash(source) + marshal.dumps(code))
    return files


def _blobs(contents: dict[str, bytes]) -> dict[str, int]:
    """One fresh in-memory file per blob, positioned at its start, for bwrap to read (and close)."""
    fds = {}
    for name, blob in contents.items():
        fd = os.memfd_create(os.path.basename(name))
        os.write(fd, blob)
        os.lseek(fd, 0, os.SEEK_SET)
        fds[name] = fd
    return fds


def bwrap_argv(limits: Limits, fds: dict[str, int], staged: Path, python: str) -> list[str]:
    """The bwrap command: `fds` hold the harness files and the seccomp program (bwrap reads and
    closes them), `staged` is the runtime folder and `python` its interpreter inside. Data files
    are not mounted: their memfds are inherited and opened through /proc/self/fd."""
    argv = [bwrap(), "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
            "--hostname", "sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--clearenv", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    argv += ["--ro-bind", str(staged), runtime.MOUNT]
    for hidden in HIDDEN:
        if os.path.isdir(hidden):
            argv += ["--tmpfs", hidden, "--remount-ro", hidden]
    for name, fd in fds.items():
        if name.endswith((".py", ".pyc")):
            argv += ["--ro-bind-data", str(fd), f"{HARNESS_MOUNT}/{name}"]
    # /dev is a tmpfs without a size cap (half the host's RAM): read-only, so scratch stays /tmp only
    argv += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev", "--size", str(limits.scratch_mb << 20),
             "--tmpfs", "/tmp", "--chdir", "/tmp", "--remount-ro", "/", "--seccomp", str(fds["seccomp"])]
    env = sandbox_env(GRADER_SANDBOX_PATH=f"{os.path.dirname(HARNESS_MOUNT)}:{runtime.MOUNT}/site",
                      LD_LIBRARY_PATH=f"{runtime.MOUNT}/python/lib")
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return [*argv, "--", python, "-I", "-S", "-B", f"{HARNESS_MOUNT}/main.py"]


def unsafe_argv() -> tuple[list[str], dict[str, str]]:
    """The same harness without isolation, for machines without bwrap when the operator allows it."""
    site = str(Path(np.__file__).resolve().parent.parent)
    env = sandbox_env(GRADER_SANDBOX_PATH=f"{HARNESS_DIR.parent}:{site}")
    return [sys.executable, "-I", "-S", "-B", str(HARNESS_DIR / "main.py")], env


class Sandbox:
    """A running sandboxed interpreter, spoken to in frames over two pipes."""

    def __init__(self, limits: Limits, files: dict[str, Path], settings: Settings) -> None:
        """`settings` as the caller read them once: whether to sandbox at all, where to stage, which UIDs."""
        self.limits = limits
        self.unsafe = unsafe = settings.unsafe_no_sandbox
        self.output = bytearray()
        self.output_dropped = 0
        self.output_withheld = 0
        self._withhold = False
        self._buffer = bytearray()
        self._lease: identities.Lease | None = None
        self._cgroup = SandboxCgroups(limits.max_processes, limits.total_memory_mb << 20, limits.cpus,
                                      limits.cpu_weight)
        passed: list[int] = []
        result_r, result_w = os.pipe()
        try:
            if unsafe:
                argv, env = unsafe_argv()
                self.files = {name: str(path) for name, path in files.items()}
            else:
                argv, env = self._sandboxed(limits, files, settings, passed), {}
            self.started = time.monotonic()
            self.proc = subprocess.Popen(self._cgroup.wrap([*argv, str(result_w)]), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                         pass_fds=(result_w, *passed), start_new_session=True)
        except BaseException:
            os.close(result_r)
            self._release()
            raise
        finally:
            for fd in (result_w, *passed[len(files):]):  # the blobs; the data memfds are kept for reuse
                os.close(fd)
        self._result = result_r
        os.set_blocking(result_r, False)
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()

    def _sandboxed(self, limits: Limits, files: dict[str, Path], settings: Settings, passed: list[int]) -> list[str]:
        """The bwrap command for this session; `passed` gets the fds it must inherit (data first)."""
        problem = sandbox_problem(settings)
        if problem:
            raise SandboxUnavailable(problem)
        try:
            staged, python = runtime.staged(settings.sandbox_dir)
            if settings.sandbox_uids is not None:
                self._lease = identities.lease(settings.sandbox_uids, settings.sandbox_dir)
        except OSError as exc:
            raise SandboxUnavailable(f"cannot prepare {settings.sandbox_dir}: {exc}") from None
        data = {name: _sealed_copy(path, name, (st := path.stat()).st_mtime_ns, st.st_size)
                for name, path in files.items()}
        self.files = {name: f"/proc/self/fd/{fd}" for name, fd in data.items()}
        fds = _blobs({**_harness_files(), "seccomp": seccomp.program()})
        passed += [*data.values(), *fds.values()]
        argv = bwrap_argv(limits, fds, staged, python)
        return argv if self._lease is None else [*_as_user(self._lease.uid), *argv]

    def cpu_seconds(self) -> float | None:
        """CPU time the sandbox's processes have used so far, counted by its cgroup outside
        student code (None where the machine gives the grader no cgroup)."""
        return self._cgroup.cpu_seconds()

    def withhold_output(self) -> None:
        """From now on, count what the sandbox prints but keep it out of `output` (and the report):
        used while reference code is inside, so a hijacked harness cannot print it out."""
        self._withhold = True

    def _drain_output(self) -> None:
        """Keep the student's stdout/stderr flowing, keeping only the first output_kb."""
        cap = self.limits.output_kb << 10
        while chunk := self.proc.stdout.read1(1 << 16):
            if self._withhold:
                self.output_withheld += len(chunk)
                continue
            keep = max(0, cap - len(self.output))
            self.output += chunk[:keep]
            self.output_dropped += len(chunk) - min(len(chunk), keep)

    def send(self, header: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
        try:
            self.proc.stdin.write(wire.encode(header, arrays))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise SandboxLost("ended") from None

    def receive(self, timeout: float) -> tuple[dict, dict[str, np.ndarray]]:
        """The next frame, within `timeout` seconds and the session's wall clock."""
        deadline = min(time.monotonic() + timeout, self.started + self.limits.wall_seconds)
        with selectors.DefaultSelector() as sel:
            sel.register(self._result, selectors.EVENT_READ)
            while (frame := self._next_frame()) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SandboxLost("timeout")
                if sel.select(remaining):
                    try:
                        chunk = os.read(self._result, 1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        raise SandboxLost("ended")
                    self._buffer += chunk
        return frame

    def _next_frame(self) -> tuple[dict, dict[str, np.ndarray]] | None:
        try:
            return wire.take_frame(self._buffer)
        except wire.WireError:
            raise SandboxLost("garbled") from None

    def close(self) -> None:
        """Kill the whole sandbox (its PID namespace dies with it) and release everything."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        self._drain.join(timeout=1)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        os.close(self._result)
        self._release()

    def _release(self) -> None:
        self._cgroup.remove()
        if self._lease is not None:  # only now: every process of this UID is gone with the cgroup
            self._lease.release()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
