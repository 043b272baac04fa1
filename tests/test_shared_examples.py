"""The verdicts a good grader must reach on the example submissions in ../shared/examples."""

from __future__ import annotations

import json
import os

import pytest

from grader import pipeline
from tests.conftest import SHARED_EXAMPLES
from tests.verdicts import mismatches

EXPECTED = json.loads((SHARED_EXAMPLES / "expected.json").read_text()) if SHARED_EXAMPLES.is_dir() else {}


def test_shared_examples_are_present_in_ci():
    assert EXPECTED or not os.environ.get("CI"), f"{SHARED_EXAMPLES} is missing"


@pytest.mark.skipif(not EXPECTED, reason="../shared/examples is not present")
@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("seed", [11, 2024])
def test_shared_example_verdicts(name, seed, settings, backprop):
    report = pipeline.grade_file(SHARED_EXAMPLES / name, backprop, settings, seed=seed)
    assert report.error is None
    assert report.seed == seed
    assert mismatches(report, EXPECTED[name]["units"]) == []
