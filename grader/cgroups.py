"""Per-sandbox cgroups: the limits rlimits cannot give.

RLIMIT_NPROC does not bind a process whose real uid is root, and
RLIMIT_AS caps each process, not the sandbox. When the grader runs as
root and the machine lets it, each sandbox gets its own cgroup with a
process cap and a total-memory cap; elsewhere this is a no-op and the
rlimits set by the harness are what holds.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
V1_FILES = {"pids": "pids.max", "memory": "memory.limit_in_bytes"}
V2_FILES = {"pids": "pids.max", "memory": "memory.max"}


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _own_v1_paths() -> dict[str, str]:
    """This process's cgroup per v1 controller, from /proc/self/cgroup (`N:controllers:/path`)."""
    found = {}
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            found[controller] = path
    return found


class SandboxCgroups:
    """Cgroups made for one sandbox; `wrap` puts the sandbox's first process into them."""

    def __init__(self, max_processes: int, memory_bytes: int) -> None:
        self.paths: list[Path] = []
        if os.geteuid() != 0:
            return
        values = {"pids": str(max_processes), "memory": str(memory_bytes)}
        name = f"nn-grader-{os.getpid()}-{time.monotonic_ns()}"
        if (ROOT / "cgroup.controllers").exists():  # v2: one directory holds every controller
            self._make(ROOT / name, {V2_FILES[c]: v for c, v in values.items()})
        else:
            own = _own_v1_paths()
            for controller, value in values.items():
                parent = ROOT / controller / own.get(controller, "/").lstrip("/")
                self._make(parent / name, {V1_FILES[controller]: value})

    def _make(self, path: Path, limits: dict[str, str]) -> None:
        try:
            path.mkdir()
        except OSError:
            return
        try:
            for filename, value in limits.items():
                (path / filename).write_text(value)
        except OSError:  # the controller is not available here
            path.rmdir()
            return
        self.paths.append(path)

    def wrap(self, argv: list[str]) -> list[str]:
        if not self.paths:
            return argv
        join = " && ".join(f'echo $$ > "${i + 1}/cgroup.procs"' for i in range(len(self.paths)))
        # unset PWD: sh exports it, and bwrap would pass the grader's directory on to /proc/1/environ
        script = f'{join} && shift {len(self.paths)} && unset PWD && exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *map(str, self.paths), *argv]

    def remove(self) -> None:
        for path in self.paths:
            for _ in range(50):
                for pid in _read(path / "cgroup.procs").split():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.01)
        self.paths = []
