"""Whether this machine grades as it should: one real sandboxed grading that must come out exactly, and the
per-sandbox limits it must be able to enforce. A worker runs it before taking any task (and its healthcheck
runs it again), so a machine whose sandbox is broken is refused instead of recording zeros.
"""

from __future__ import annotations

from dataclasses import replace

from grader import pipeline
from grader.config import Settings
from grader.sandbox.cgroups import SandboxCgroups
from grader.types import Assignment

PROBE_SEED = 1


def problem(assignment: Assignment, settings: Settings) -> str | None:
    """Why this machine cannot be trusted to grade `assignment`, or None: its limits cannot be enforced, or its
    `solution.ipynb` (full marks by construction) does not score full marks here on the first unit (a whole
    sandboxed run, start to report, at a fraction of a full grading's cost). No solution: nothing to try."""
    unenforced = unenforced_limits(assignment, settings)
    solution = assignment.directory / "solution.ipynb"
    if unenforced or not solution.is_file() or not assignment.units:
        return unenforced
    first = next(iter(assignment.units))
    report = pipeline.grade_file(solution, replace(assignment, units={first: assignment.units[first]}), settings,
                                 seed=PROBE_SEED)
    if report.error:
        return f"the sandboxed probe failed: {report.error}"
    if report.score != report.max_score:
        lost = sorted(name for name, unit in report.units.items() if unit.score != unit.max_score)
        return f"the sandboxed probe scored {report.score:g}/{report.max_score:g} (lost: {', '.join(lost)})"
    return None


def unenforced_limits(assignment: Assignment, settings: Settings) -> str | None:
    """As root the sandbox owes each grading its own cgroup (processes, total memory, CPU): say so when this
    machine cannot give one (a container without a delegated cgroup) rather than grade without the caps."""
    if settings.sandbox_uids is None or settings.unsafe_no_sandbox:
        return None    # unprivileged: per-process rlimits are the limits (README, "Adding a worker machine")
    limits = assignment.limits
    cgroups = SandboxCgroups(limits.max_processes, limits.total_memory_mb << 20, limits.cpus, limits.cpu_weight)
    try:
        if not cgroups.paths:
            return ("the per-sandbox cgroup (process, memory and CPU caps) cannot be created under /sys/fs/cgroup: "
                    "give the worker a writable, delegated cgroup")
    finally:
        cgroups.remove()
    return None
