"""Feedback points at the cause: the call that is wrong, the second call, what training showed."""

from __future__ import annotations

import pytest

from grader import pipeline
from grader.config import ASSIGNMENTS_DIR

EXAMPLES = ASSIGNMENTS_DIR / "backprop" / "examples"


@pytest.fixture(scope="module")
def reports(settings, backprop):
    names = ("12_affine_dW_accumulates", "16_softmax_loss_arguments_swapped", "17_gradient_fresh_loss_layer",
             "18_accuracy_without_backprop")
    return {n: pipeline.grade_file(EXAMPLES / f"{n}.ipynb", backprop, settings, seed=12, lang="en") for n in names}


def failed(report, unit, variant="own"):
    return [c.message for c in report.units[unit].checks if not c.passed and c.variant == variant]


def test_a_mistake_of_the_second_call_says_so_and_training_shows_growing_gradients(reports):
    report = reports["12_affine_dW_accumulates"]
    assert failed(report, "Affine") and all("dW on the second call" in m for m in failed(report, "Affine"))
    (accuracy,) = failed(report, "accuracy")
    assert "the gradients grew during training" in accuracy


def test_a_wrong_call_of_correct_dependencies_is_blamed_on_the_caller(reports):
    messages = failed(reports["16_softmax_loss_arguments_swapped"], "SoftmaxWithLoss")
    assert messages and all("the mistake is in SoftmaxWithLoss itself" in m for m in messages)
    assert reports["16_softmax_loss_arguments_swapped"].units["cross_entropy_error"].score == \
        reports["16_softmax_loss_arguments_swapped"].units["cross_entropy_error"].max_score


def test_a_loss_layer_that_never_ran_forward_is_named_at_the_line_that_calls_backward(reports):
    message = failed(reports["17_gradient_fresh_loss_layer"], "gradient")[0]
    assert "`dout = SoftmaxWithLoss().backward(1)`" in message
    assert "whose forward never ran" in message


def test_parameters_that_training_did_not_produce_earn_no_accuracy_and_feedback_says_why(reports):
    (message,) = failed(reports["18_accuracy_without_backprop"], "accuracy")
    assert "away from where backpropagation takes the reference network" in message
    assert "the parameters did not change in 100 of 100 steps" in message
