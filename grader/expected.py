"""The reference's answers: each probe's expected outcome, computed on the trusted side, once.

A probe runs on the reference namespace in this process (probing), with any data files it names
read as the sandbox reads them; a `fixed_inputs` probe on data files (training) is the
reference's cached training run (trajectory). The memo can be shared by
many submissions and seeds (grader/seeds.py), since a request is a pure function of its seed.
"""

from __future__ import annotations

from dataclasses import replace

from grader import data, probing, trajectory
from grader.config import Settings
from grader.types import Assignment, FileInput, ProbeOutcome, ProbeRequest


class Expected:
    """The reference's outcomes for one assignment, by (seed, unit, probe)."""

    def __init__(self, assignment: Assignment, settings: Settings,
                 memo: dict[tuple[int, str, str], ProbeOutcome] | None = None) -> None:
        self.assignment, self.settings = assignment, settings
        self.memo = {} if memo is None else memo

    def outcome(self, asked: probing.Probing, unit: str, probe: str) -> ProbeOutcome:
        """The reference's outcome of the probe as `asked` put it to the student's code."""
        key = (asked.seed, unit, probe)
        if key not in self.memo:
            request = asked.request(unit, probe)
            if self.assignment.units[unit].probes[probe].params.get("fixed_inputs"):   # training: cached
                self.memo[key] = trajectory.reference_outcome(
                    request, self.assignment, data.sandbox_files(self.assignment, self.settings),
                    self.settings.cache_dir)
            else:
                self.memo[key] = probing.reference_outcome(self.with_data(request), self.assignment)
        return self.memo[key]

    def with_data(self, request: ProbeRequest) -> ProbeRequest:
        """The request with the data files it names read, as the sandbox reads them (to run it on
        trusted definitions: the reference, a mutant)."""
        if not any(isinstance(v, FileInput) for v in request.inputs.values()):
            return request
        files = data.sandbox_files(self.assignment, self.settings)
        return replace(request, inputs=data.load_inputs(request.inputs, files))
