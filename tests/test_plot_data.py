"""The report carries what the result pages show: gradient-check errors, training curves, failing lines,
feedback in every language."""

from __future__ import annotations

import pytest

from grader import languages, pipeline
from grader.reports import SubmissionReport
from tests.conftest import SHARED_EXAMPLES


@pytest.fixture(scope="module")
def wrong_mask(settings, backprop) -> SubmissionReport:
    """One grading of the wrong-ReLU-mask example, read by the tests of what its report carries."""
    return pipeline.grade_file(SHARED_EXAMPLES / "07_relu_backward_wrong_mask.ipynb", backprop, settings, seed=4)


def test_gradient_check_reports_each_parameters_error_and_threshold(wrong_mask):
    report = wrong_mask
    measured = {c.name: c.measured for c in report.units["gradient_check"].checks}
    assert set(measured) == {"W1", "b1", "W2", "b2", "W1_large", "b1_large", "W2_large", "b2_large"}
    assert {m["param"] for m in measured.values()} == {"W1", "b1", "W2", "b2"}
    # a wrong ReLU mask breaks the first layer's gradients only (on either network); the second layer's stay exact
    for size in ("", "_large"):
        assert measured[f"W1{size}"]["error"] > measured[f"W1{size}"]["threshold"] > measured[f"W2{size}"]["error"]
    accuracy = report.units["accuracy"].checks[0].measured
    assert accuracy["accuracy"] < accuracy["threshold"]


def test_failed_checks_point_at_the_students_own_code(wrong_mask):
    report = wrong_mask
    backward = next(c for c in report.units["Relu"].checks if c.name == "backward")
    assert backward.where["text"].startswith("class Relu") and backward.where["cell"].startswith("In [")
    assert all(c.where is None for c in report.units["Affine"].checks)


def test_feedback_and_notes_come_in_every_language_whatever_the_notebooks(wrong_mask):
    report = wrong_mask
    backward = next(c for c in report.units["Relu"].checks if c.name == "backward")
    assert report.language == "ja" and backward.messages["ja"] == backward.message
    assert "backward's dx is wrong in" in backward.messages["en"]
    assert set(report.notes_by_language) == set(languages.LANGUAGES) and report.notes_by_language["ja"] == report.notes
    assert len(report.notes_by_language["en"]) == len(report.notes)


def test_training_curve_of_correct_code_follows_the_reference_on_the_same_batches(settings, backprop):
    report = pipeline.grade_file(SHARED_EXAMPLES / "01_correct_book_style.ipynb", backprop, settings, seed=4)
    training = report.to_dict()["training"]
    student, reference = training["student"], training["reference"]   # grading's own reference run, no other
    steps = backprop.units["accuracy"].probes["mnist"].inputs["batches"]["shape"][0]
    assert len(student["loss"]) == len(reference["loss"]) == steps // training["every"]
    assert student["accuracy"] == reference["accuracy"]
    assert student["loss"][-1] < student["loss"][0] * 0.8   # it learns: the loss falls, the accuracy rises
    assert student["accuracy"][-1] > student["accuracy"][0] + 0.3
