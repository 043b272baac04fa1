"""A spec's probe run on trusted definitions and one of its checks judged, in this process: how the
kinds tests ask what a probe records and what a check says of it, with no sandbox in between."""

from __future__ import annotations

from grader import probing
from grader.checks import CHECK_KINDS, CheckContext, Verdict
from grader.inputs import generate
from grader.types import Assignment, ProbeOutcome, ProbeRequest


def outcome(assignment: Assignment, unit: str, probe: str, namespace: dict, seed: int = 1) -> ProbeOutcome:
    """The unit's probe, its inputs drawn from `seed` as for a submission, run on `namespace`."""
    p = assignment.units[unit].probes[probe]
    request = ProbeRequest(probe, p.kind, p.params, generate(seed, unit, probe, p.inputs, p.constraint))
    return probing.trusted_outcome(request, namespace)


def verdict(assignment: Assignment, unit: str, check: str, got: ProbeOutcome, expected: ProbeOutcome,
            context: CheckContext) -> Verdict:
    """The unit's check named `check` on `got` against `expected`."""
    c = next(c for c in assignment.units[unit].checks if c.name == check)
    return CHECK_KINDS[c.kind](c, assignment.units[unit].probes[c.probe], got, expected, context)
