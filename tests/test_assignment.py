"""The backprop assignment as shipped: solution, template and bundled examples grade as stated."""

from __future__ import annotations

import json

import pytest

from grader import pipeline, spec
from grader.config import ASSIGNMENTS_DIR
from tests.scripts import script_problems
from tests.verdicts import diagnosis_ids, mismatches

FOLDER = ASSIGNMENTS_DIR / "backprop"
EXAMPLES = json.loads((FOLDER / "examples" / "expected.json").read_text())
def test_spec_lists_the_eight_graded_units(backprop):
    assert list(backprop.units) == ["cross_entropy_error", "numerical_grad", "Relu", "Affine", "SoftmaxWithLoss",
                                    "gradient", "gradient_check", "accuracy"]
    assert spec.available() == ["backprop"]


def test_solution_scores_full_marks(settings, backprop):
    report = pipeline.grade_file(FOLDER / "solution.ipynb", backprop, settings, seed=3)
    assert report.error is None
    assert report.score == report.max_score, [c.message for u in report.units.values() for c in u.checks
                                              if not c.passed]


def test_untouched_template_scores_zero_without_crashing(settings, backprop):
    report = pipeline.grade_file(FOLDER / "template.ipynb", backprop, settings, seed=3)
    assert report.error is None
    assert report.score == 0
    messages = [c.message for u in report.units.values() for c in u.checks]
    assert all(messages) and any("NotImplementedError" in m for m in messages)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_bundled_example_verdicts(name, settings, backprop):
    report = pipeline.grade_file(FOLDER / "examples" / name, backprop, settings, seed=8)
    assert report.error is None
    assert mismatches(report, EXAMPLES[name]["units"]) == []
    assert diagnosis_ids(report) == set(EXAMPLES[name]["diagnoses"])  # no other
    assert report.language == EXAMPLES[name]["language"]
    texts = [*(c.message for u in report.units.values() for c in u.checks), *report.notes,
             *(c.diagnosis["message"] for u in report.units.values() for c in u.checks if c.diagnosis)]
    assert [p for text in texts for p in script_problems(report.language, text)] == []


def test_same_seed_reproduces_the_report_and_another_seed_changes_the_inputs(settings, backprop):
    path = FOLDER / "examples" / "03_cee_no_batch_mean.ipynb"
    first = pipeline.grade_file(path, backprop, settings, seed=99).to_dict()
    again = pipeline.grade_file(path, backprop, settings, seed=99).to_dict()
    other = pipeline.grade_file(path, backprop, settings, seed=100).to_dict()
    first.pop("timings"), again.pop("timings"), other.pop("timings")
    assert first == again
    assert first["units"] != other["units"]  # the error figures in the messages come from other inputs
