"""Verdicts do not depend on the seed: over 200 seeds, every correct variant gets full marks in
every unit and every faulty variant the same verdict (the same failed checks) on every seed, in
the units its mistake lives in. Each variant is graded through the real harness, in one sandbox
session for all 200 seeds (grader/seeds.py), without the training run (the accuracy unit's
inputs are fixed anyway).
"""

from __future__ import annotations

import dataclasses

import pytest

from grader import seeds
from tests.notebooks import notebook_bytes
from tests.variants import CORRECT, FAULTY

SEEDS = list(range(60))   # the suite's sample; benchmarks/seed_verdicts.py runs thousands
CHUNK = 100  # seeds per unit run: the large network's inputs for 100 seeds fit one frame (wire.MAX_FRAME)
EXPECTED: dict = {}  # the reference's outcomes per seed, shared by every variant


@pytest.fixture(scope="module")
def untrained(backprop):
    """The assignment without the unit that trains (its inputs do not depend on the seed)."""
    return dataclasses.replace(backprop, units={k: u for k, u in backprop.units.items() if k != "accuracy"})


def verdicts(cells: list[str], assignment, settings) -> seeds.SeedVerdicts:
    return seeds.over_seeds(notebook_bytes(*cells), assignment, settings, SEEDS, chunk=CHUNK, expected=EXPECTED)


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_variant_gets_full_marks_on_every_seed(name, untrained, settings):
    result = verdicts(CORRECT[name], untrained, settings)
    wrong = {unit: result.examples[(unit, v)] for unit, counts in result.counts.items() for v in counts
             if not v.startswith("full")}
    assert wrong == {}


@pytest.mark.parametrize("name", sorted(FAULTY))
def test_faulty_variant_gets_one_verdict_on_every_seed_where_its_mistake_lives(name, untrained, settings):
    cells, charged = FAULTY[name]
    result = verdicts(cells, untrained, settings)
    assert {unit: dict(c) for unit, c in result.flaky().items()} == {}
    levels = {unit: next(iter(counts)) for unit, counts in result.counts.items()}
    assert {unit for unit, v in levels.items() if not v.startswith("full")} == charged - {"accuracy"}, levels
