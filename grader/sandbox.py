"""The sandbox: one bubblewrap-isolated interpreter per submission.

This is the only module that starts student code. The process sees the
Python runtime, numpy, the harness in grader/inside and the files it is
given (read-only), a size-capped scratch /tmp, no network, no other
processes and no environment from the grader. Limits are applied by the
harness before any student code runs; the process count is capped with a
cgroup when the grader runs as root (see grader/cgroups.py), and the wall
clock is enforced from here.
"""

from __future__ import annotations

import functools
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.cgroups import SandboxCgroups
from grader.inside import wire

HARNESS_DIR = Path(__file__).resolve().parent / "inside"
SANDBOX_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "LANG": "C.UTF-8", "HOME": "/tmp", "PYTHONIOENCODING": "utf-8"}


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot run here and the operator has not allowed unsandboxed grading."""


class SessionLost(RuntimeError):
    """The sandboxed process ended or stopped answering; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 120
    cpu_seconds: int = 60
    memory_mb: int = 2048            # address space of each process
    total_memory_mb: int = 3072      # all of the sandbox's processes together (cgroup, where available)
    max_processes: int = 64
    file_size_mb: int = 64
    open_files: int = 256
    output_kb: int = 1024
    scratch_mb: int = 64
    statement_seconds: float = 5

    def for_harness(self) -> dict[str, int]:
        return {"cpu_seconds": self.cpu_seconds, "memory_bytes": self.memory_mb << 20,
                "file_size_bytes": self.file_size_mb << 20, "open_files": self.open_files,
                "max_processes": self.max_processes}


@functools.cache
def sandbox_problem() -> str | None:
    """Why bubblewrap cannot isolate a process on this machine, or None if it can."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed"
    probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--unshare-user",
                            "--die-with-parent", "true"], capture_output=True, text=True, env={})
    if probe.returncode != 0:
        return f"bwrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return None


def _numpy_mounts() -> list[tuple[Path, str]]:
    root = Path(np.__file__).resolve().parent
    mounts = [(root, "/opt/site/numpy")]
    libs = root.parent / "numpy.libs"
    if libs.is_dir():
        mounts.append((libs, "/opt/site/numpy.libs"))
    return mounts


def _hidden_site_dirs(prefix: Path) -> list[Path]:
    """Package folders of the base interpreter: mounted with it, then covered by empty tmpfs."""
    found = list(prefix.glob("lib/python3*/site-packages")) + list(prefix.glob("local/lib/python3*/dist-packages"))
    return [p for p in found + [Path("/usr/lib/python3/dist-packages")] if p.is_dir()]


def bwrap_argv(limits: Limits, files: dict[str, Path]) -> list[str]:
    python = Path(os.path.realpath(sys.executable))
    prefix = Path(sys.base_prefix).resolve()
    argv = ["bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
            "--hostname", "sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--clearenv", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    if not str(prefix).startswith("/usr/"):
        argv += ["--ro-bind", str(prefix), str(prefix)]
    for hidden in _hidden_site_dirs(prefix):
        argv += ["--tmpfs", str(hidden)]
    for source, target in [*_numpy_mounts(), (HARNESS_DIR, "/opt/harness/inside")]:
        argv += ["--ro-bind", str(source), target]
    for name, path in files.items():
        argv += ["--ro-bind", str(path), f"/data/{name}"]
    # /dev is a tmpfs without a size cap (half the host's RAM): read-only, so scratch stays /tmp only
    argv += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev", "--size", str(limits.scratch_mb << 20),
             "--tmpfs", "/tmp", "--chdir", "/tmp", "--remount-ro", "/"]
    for key, value in {**SANDBOX_ENV, "GRADER_SANDBOX_PATH": "/opt/harness:/opt/site"}.items():
        argv += ["--setenv", key, value]
    return [*argv, "--", str(python), "-I", "-S", "-B", "/opt/harness/inside/main.py"]


def unsafe_argv() -> tuple[list[str], dict[str, str]]:
    """The same harness without isolation, for machines without bwrap when the operator allows it."""
    site = str(Path(np.__file__).resolve().parent.parent)
    env = {**SANDBOX_ENV, "GRADER_SANDBOX_PATH": f"{HARNESS_DIR.parent}:{site}"}
    return [sys.executable, "-I", "-S", "-B", str(HARNESS_DIR / "main.py")], env


class Session:
    """A running sandboxed interpreter, spoken to in frames over two pipes."""

    def __init__(self, limits: Limits, files: dict[str, Path], unsafe: bool = False) -> None:
        self.limits = limits
        self.unsafe = unsafe
        self.output = bytearray()
        self.output_dropped = 0
        self._buffer = bytearray()
        result_r, result_w = os.pipe()
        self._cgroup = SandboxCgroups(limits.max_processes, limits.total_memory_mb << 20)
        if unsafe:
            argv, env = unsafe_argv()
            self.files = {name: str(path) for name, path in files.items()}
        else:
            problem = sandbox_problem()
            if problem:
                raise SandboxUnavailable(problem)
            argv, env = bwrap_argv(limits, files), {}
            self.files = {name: f"/data/{name}" for name in files}
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self._cgroup.wrap([*argv, str(result_w)]), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                     pass_fds=(result_w,), start_new_session=True)
        os.close(result_w)
        self._result = result_r
        os.set_blocking(result_r, False)
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()

    def _drain_output(self) -> None:
        """Keep the student's stdout/stderr flowing, keeping only the first output_kb."""
        cap = self.limits.output_kb << 10
        while chunk := self.proc.stdout.read1(1 << 16):
            keep = max(0, cap - len(self.output))
            self.output += chunk[:keep]
            self.output_dropped += len(chunk) - min(len(chunk), keep)

    def send(self, header: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
        try:
            self.proc.stdin.write(wire.encode(header, arrays))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise SessionLost("ended") from None

    def receive(self, timeout: float) -> tuple[dict, dict[str, np.ndarray]]:
        """The next frame, within `timeout` seconds and the session's wall clock."""
        deadline = min(time.monotonic() + timeout, self.started + self.limits.wall_seconds)
        with selectors.DefaultSelector() as sel:
            sel.register(self._result, selectors.EVENT_READ)
            while (frame := self._next_frame()) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SessionLost("timeout")
                if sel.select(remaining):
                    try:
                        chunk = os.read(self._result, 1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        raise SessionLost("ended")
                    self._buffer += chunk
        return frame

    def _next_frame(self) -> tuple[dict, dict[str, np.ndarray]] | None:
        try:
            return wire.take_frame(self._buffer)
        except wire.WireError:
            raise SessionLost("garbled") from None

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
        self._cgroup.remove()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
