"""Scoring: verdicts -> points per check -> a score per unit. Pure functions.

A unit with `substitute` is scored on two variants: its own definitions
(worth `own_share` of each check's points) and with the reference's
dependencies (the rest), so a correct unit over a broken or missing
dependency still earns part of its points, and only there. A check passed
with the student's own definitions counts as passed in both variants: the
reference's narrower signatures must not cost a correct unit anything.
A property check (returns a scalar, restores `x`, leaves its input alone)
earns its points only once a value check of the same variant passed, so a
stub that ignores its inputs scores zero however tidy its side effects.
A check that `needs` another earns its points only once that one passed in
the same variant: a gradient right on a small network counts only if the
same code is backprop's on a large one (right, at backprop's cost).
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.checks import Verdict
from grader.types import UnitSpec

VARIANTS = ("own", "reference_deps")


@dataclass(frozen=True)
class ScoredCheck:
    name: str
    variant: str
    passed: bool
    score: float
    max_score: float
    verdict: Verdict


@dataclass(frozen=True)
class UnitScore:
    name: str
    score: float
    max_score: float
    checks: tuple[ScoredCheck, ...]


def variants(unit: UnitSpec) -> tuple[str, ...]:
    return VARIANTS if unit.substitute else VARIANTS[:1]


def share(unit: UnitSpec, variant: str) -> float:
    if not unit.substitute:
        return 1.0
    return unit.own_share if variant == "own" else 1.0 - unit.own_share


def _settled(verdicts: dict[tuple[str, str], Verdict], check: str, variant: str) -> Verdict:
    """A check passed with the student's own dependencies counts as passed in both variants."""
    own = verdicts[(check, "own")]
    return own if own.passed else verdicts[(check, variant)]


def score_unit(unit: UnitSpec, verdicts: dict[tuple[str, str], Verdict]) -> UnitScore:
    """`verdicts` maps (check name, variant) to its verdict; every pair must be present."""
    checks = []
    for variant in variants(unit):
        settled = {c.name: _settled(verdicts, c.name, variant) for c in unit.checks}
        computes = any(settled[c.name].passed for c in unit.checks if not c.property)
        for check in unit.checks:
            verdict = settled[check.name]
            if check.property and verdict.passed and not computes:
                verdict = Verdict(False, "stub", {})
            elif check.needs and verdict.passed and not settled[check.needs].passed:
                verdict = Verdict(False, "needs_failed", {"needed": check.needs})
            worth = round(check.points * share(unit, variant), 6)
            checks.append(ScoredCheck(check.name, variant, verdict.passed,
                                      worth if verdict.passed else 0.0, worth, verdict))
    return UnitScore(unit.name, round(sum(c.score for c in checks), 6), round(unit.max_score, 6), tuple(checks))

