"""Per-sandbox cgroups: the limits rlimits cannot give.

RLIMIT_AS caps each process, not the sandbox, and nothing in rlimits
shares the CPU fairly. When the grader runs as root and the machine lets
it, each sandbox gets its own cgroup with a process cap, a total-memory
cap, a CPU cap (`cpus` cores) and a CPU weight, so a sandbox full of busy
processes slows only itself; elsewhere this is a no-op and the rlimits set
by the harness are what holds.

The same cgroup counts the CPU time the sandbox's processes used, read from
outside: evidence of what a call cost that student code cannot edit.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


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


PREFIX = "nn-grader"
ORPHAN_AGE_SECONDS = 10.0    # far older than a cgroup waiting for its sandbox's first process (milliseconds)


def remove_orphans() -> int:
    """Remove the empty sandbox cgroups a grader left when it was killed mid-grading (its PID, in the name, is
    gone); how many. A grader's worker runs this at start, so killed machines do not pile them up."""
    removed = 0
    for parent in {ROOT} if (ROOT / "cgroup.controllers").exists() else {
            ROOT / controller / own.lstrip("/") for controller, own in _own_v1_paths().items()}:
        for path in parent.glob(f"{PREFIX}-*-*"):
            pid = path.name.split("-")[2]
            try:
                if pid.isdigit() and not _alive(int(pid)) and time.time() - path.stat().st_mtime > ORPHAN_AGE_SECONDS:
                    path.rmdir()       # fails while a process is still in it
                    removed += 1
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SandboxCgroups:
    """Cgroups made for one sandbox; `wrap` puts the sandbox's first process into them."""

    def __init__(self, max_processes: int, memory_bytes: int, cpus: float, cpu_weight: int) -> None:
        """`cpu_weight` on cgroup v2's scale (1-10000, 100 is the default share of a cgroup)."""
        self.paths: list[Path] = []
        self._usage: tuple[Path, int] | None = None  # the file that counts CPU time, and its unit in ns
        if os.geteuid() != 0:
            return
        quota = max(1000, int(cpus * PERIOD_US))
        v1 = {"pids": {"pids.max": max_processes}, "memory": {"memory.limit_in_bytes": memory_bytes},
              "cpu": {"cpu.cfs_period_us": PERIOD_US, "cpu.cfs_quota_us": quota,
                      "cpu.shares": max(2, cpu_weight * 1024 // 100)},
              "cpuacct": {}}  # counts CPU time only: kept without a limit to write
        name = f"{PREFIX}-{os.getpid()}-{time.monotonic_ns()}"
        if (ROOT / "cgroup.controllers").exists():  # v2: one directory holds every controller
            self._make(ROOT / name, {"pids.max": max_processes, "memory.max": memory_bytes,
                                     "cpu.max": f"{quota} {PERIOD_US}", "cpu.weight": cpu_weight})
            self._count(ROOT / name / "cpu.stat", 1000)
        else:
            own = _own_v1_paths()
            for controller, values in v1.items():
                path = ROOT / controller / own.get(controller, "/").lstrip("/") / name
                self._make(path, values)
                self._count(path / "cpuacct.usage", 1)

    def _count(self, usage: Path, unit_ns: int) -> None:
        if self._usage is None and usage.parent in self.paths and _read(usage):
            self._usage = (usage, unit_ns)

    def cpu_seconds(self) -> float | None:
        """CPU time every process of the sandbox has used so far, or None where nothing counts it."""
        if self._usage is None:
            return None
        path, unit_ns = self._usage
        text = _read(path)
        if unit_ns != 1:  # cgroup v2's cpu.stat: `usage_usec N` among other lines
            text = next((line.split()[1] for line in text.splitlines() if line.startswith("usage_usec ")), "")
        return int(text) * unit_ns / 1e9 if text.strip().isdigit() else None

    def _make(self, path: Path, limits: dict[str, object]) -> None:
        """Make the cgroup and set what this machine supports; a cgroup that limits nothing is
        dropped, unless it is the one that counts CPU time."""
        try:
            path.mkdir()
        except OSError:
            return
        written = 0
        for filename, value in limits.items():
            try:
                (path / filename).write_text(str(value))
                written += 1
            except OSError:  # this controller is not enabled here
                pass
        if written or (path / "cpuacct.usage").exists():
            self.paths.append(path)
        else:
            path.rmdir()

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
        self._usage = None
