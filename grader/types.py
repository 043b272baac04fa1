"""The plain data the steps hand each other: an assignment as declared, what the sandbox is asked,
what it answers.

Pure: no I/O and no import of another grader module, so any step (spec, checks, the sandbox,
scoring, feedback) can share these without depending on the others.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# --- an assignment as declared (grader/spec.py reads assignment.toml into these) -----------------


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
    cpus: float = 1.0                # CPU cap of the whole sandbox, in cores (cgroup, where available)
    cpu_weight: int = 100            # its share when the CPU is contended (cgroup v2 scale; 100 = default)

    def for_harness(self) -> dict[str, int]:
        return {"cpu_seconds": self.cpu_seconds, "memory_bytes": self.memory_mb << 20,
                "file_size_bytes": self.file_size_mb << 20, "open_files": self.open_files,
                "max_processes": self.max_processes}


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    kind: str
    params: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    constraint: str | None = None


@dataclass(frozen=True)
class CheckSpec:
    name: str
    kind: str
    probe: str
    output: str
    points: float
    options: dict[str, Any]
    property: bool = False   # shape/side-effect check: earns points only once a value check of its variant passed
    needs: str | None = None  # another check of the unit that must pass (same variant) for this one to earn points


@dataclass(frozen=True)
class UnitSpec:
    name: str
    defines: tuple[str, ...]            # every one must be the student's own definition
    defines_any: tuple[str, ...]        # at least one (a "Class.method" names a method)
    requires: tuple[str, ...]           # must be defined for the probes to make sense
    substitute: tuple[str, ...]         # reference definitions swapped in for a second variant
    own_share: float
    time_limit: float
    probes: dict[str, ProbeSpec]
    checks: tuple[CheckSpec, ...]

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)


@dataclass(frozen=True)
class ManualSpec:
    """The written parts an instructor grades by hand (`[manual]`): their points, and the headings (ja, en,
    ko, zh by default) they sit under."""

    points: float = 5.0
    headings: tuple[str, ...] = ("感想", "考察", "Reflection", "Discussion", "소감", "고찰", "心得", "讨论")


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    titles: dict[str, str]             # the title in other languages (`title_ja`, `title_ko`, ... in the spec)
    mode: str
    directory: Path
    limits: Limits
    aliases: dict[str, tuple[str, ...]]
    units: dict[str, UnitSpec] = field(default_factory=dict)
    reference: str = "reference"     # module (trusted side only) whose NAMESPACE maps names to definitions
    manual: ManualSpec = field(default_factory=ManualSpec)

    @functools.cached_property
    def reference_namespace(self) -> dict[str, object]:
        """The reference's definitions, with every alias a student may use for them."""
        ns = dict(importlib.import_module(self.reference).NAMESPACE)
        for name, alternatives in self.aliases.items():
            ns.update({alt: ns[name] for alt in alternatives if name in ns})
        return ns

    @property
    def max_score(self) -> float:
        return sum(u.max_score for u in self.units.values())

    def title_in(self, lang: str) -> str:
        """The title in a reader's language, or the English one."""
        return self.titles.get(lang, self.title)


# --- what the sandbox is asked, and what it answers (grader/sandbox/execution.py) ----------------


@dataclass(frozen=True)
class FileInput:
    """A large input kept in a file and mounted read-only into the sandbox (never inlined)."""

    dataset: str
    part: str

    @property
    def name(self) -> str:
        return f"{self.dataset}_{self.part}"


Value = np.ndarray | FileInput   # a probe's input (grader/inputs.py draws them)


@dataclass(frozen=True)
class ProbeRequest:
    name: str
    kind: str
    params: dict[str, Any]
    inputs: dict[str, Value]


@dataclass(frozen=True)
class UnitRun:
    """One forked child in the sandbox: a unit's probes, with or without reference substitutes."""

    unit: str
    variant: str                  # "own" or "reference_deps"
    timeout: float
    probes: tuple[ProbeRequest, ...]
    substitutes: bytes | None = None  # marshalled (names, code) of reference definitions to swap in

    @property
    def key(self) -> str:
        return f"{self.unit}:{self.variant}"


@dataclass(frozen=True)
class Cost:
    """What one unit run cost, measured by the grader, never by the sandbox: the CPU time its
    cgroup counted, or where there is none, the wall-clock time from request to answer."""

    seconds: float
    clock: str                    # "cpu" or "wall"


@dataclass
class ProbeOutcome:
    """What one probe produced: values by output name, or why each one is missing."""

    values: dict[str, np.ndarray | float | None] = field(default_factory=dict)
    types: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, dict] = field(default_factory=dict)
    failure: dict | None = None   # the whole probe did not run to the end: timeout, crash, lost
    cost: Cost | None = None      # of the unit run the probe ran in (None: not measured)


@dataclass
class RunResult:
    probes: dict[str, ProbeOutcome]
    output: str = ""
    seconds: float = 0.0


@dataclass
class Execution:
    statement_errors: dict[int, dict] = field(default_factory=dict)   # id -> error (or failure) info
    runs: dict[str, RunResult] = field(default_factory=dict)
    output: str = ""
    output_dropped: int = 0
    output_withheld: int = 0      # bytes printed while reference code was in the sandbox: never reported
    restarts: int = 0
    timings: dict[str, float] = field(default_factory=dict)
