"""Verdicts do not depend on the seed: over 30 seeds (SEEDS), every correct variant gets full marks in
every unit and every faulty variant the same verdict (the same failed checks) on every seed, in
the units its mistake lives in. Each variant is graded through the real harness, in one sandbox
session for all its seeds (grader/seeds.py), without the training run (the accuracy unit's
inputs are fixed anyway). The variants the session selected are graded two at a time (a sandbox
per core; each variant's verdicts are its own), after the solution, whose grading computes the
reference's outcomes once for all of them; each test reads its own variant's verdicts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

import pytest

from grader import seeds
from tests.notebooks import notebook_bytes
from tests.variants import CORRECT, FAULTY

# the suite's sample: a fault on one seed in ten shows in 96% of such samples; benchmarks/seed_verdicts.py
# runs thousands
SEEDS = list(range(30))
CHUNK = 100  # seeds per unit run: the large network's inputs for 100 seeds fit one frame (wire.MAX_FRAME)
EXPECTED: dict = {}  # the reference's outcomes per seed, shared by every variant


@pytest.fixture(scope="module")
def untrained(backprop):
    """The assignment without the unit that trains (its inputs do not depend on the seed)."""
    return dataclasses.replace(backprop, units={k: u for k, u in backprop.units.items() if k != "accuracy"})


def verdicts(cells: list[str], assignment, settings) -> seeds.SeedVerdicts:
    return seeds.over_seeds(notebook_bytes(*cells), assignment, settings, SEEDS, chunk=CHUNK, expected=EXPECTED)


@pytest.fixture(scope="module")
def graded(request, untrained, settings) -> Callable[[str], seeds.SeedVerdicts]:
    """The verdicts of each variant this session runs a test of, by name (a variant's error is its test's)."""
    selected = {item.callspec.params["name"] for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")}
    cells = {name: c for name, c in CORRECT.items() if name in selected}
    cells |= {name: c for name, (c, _) in FAULTY.items() if name in selected}
    pool = ThreadPoolExecutor(max_workers=2)   # the machine's two cores
    results: dict[str, Future] = {}
    for name in sorted(cells, key=lambda name: name != "solution"):
        results[name] = pool.submit(verdicts, cells[name], untrained, settings)
        if len(results) == 1:
            wait(results.values())   # the reference's outcomes now in EXPECTED, computed once for every variant
    try:
        yield lambda name: results[name].result()
    finally:
        pool.shutdown(cancel_futures=True)   # stopped early (-x): what has not started is not graded


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_variant_gets_full_marks_on_every_seed(name, graded):
    result = graded(name)
    wrong = {unit: result.examples[(unit, v)] for unit, counts in result.counts.items() for v in counts
             if not v.startswith("full")}
    assert wrong == {}


@pytest.mark.parametrize("name", sorted(FAULTY))
def test_faulty_variant_gets_one_verdict_on_every_seed_where_its_mistake_lives(name, graded):
    charged = FAULTY[name][1]
    result = graded(name)
    assert {unit: dict(c) for unit, c in result.flaky().items()} == {}
    levels = {unit: next(iter(counts)) for unit, counts in result.counts.items()}
    assert {unit for unit, v in levels.items() if not v.startswith("full")} == charged - {"accuracy"}, levels
