"""The verdicts a good grader must reach on the example submissions in ../shared/examples."""

from __future__ import annotations

import json
import os

import pytest

from grader import pipeline
from tests.conftest import SHARED_EXAMPLES
from tests.verdicts import diagnosis_ids, mismatches

EXPECTED = json.loads((SHARED_EXAMPLES / "expected.json").read_text()) if SHARED_EXAMPLES.is_dir() else {}
# the mistakes each example makes (expected.json is read-only to the project, so they are listed here)
DIAGNOSES = {
    "01_correct_book_style.ipynb": set(),
    "02_seed_as_submitted.ipynb": {"comparison_as_statement", "numpy_name_misspelt", "batch_size_wrong_expression",
                                   "log_without_delta", "return_inside_loop", "fresh_layer_without_forward",
                                   "result_dict_rebuilt_in_loop", "self_outside_method"},
    "03_cee_no_delta.ipynb": {"log_without_delta"},
    "04_affine_backward_no_reshape.ipynb": {"affine_dx_not_reshaped"},
    "05_softmax_backward_no_batch_div.ipynb": {"softmax_backward_no_batch_division"},
    "06_numerical_grad_no_restore.ipynb": {"numerical_x_not_restored"},
    "07_relu_backward_wrong_mask.ipynb": {"relu_mask_inverted"},
    "08_magics_spread_cells.ipynb": set(),
}


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
    assert diagnosis_ids(report) == DIAGNOSES[name]
