"""Feedback says what failed, where, by how much, and in the student's language."""

from __future__ import annotations

import re

import pytest

from grader import pipeline
from tests.notebooks import notebook_bytes, solution_cells
from tests.scripts import script_problems


@pytest.mark.parametrize("lang, markdown", [("ja", "# 第5回のレポートです"), ("en", "# Report 5"),
                                            ("ko", "# 5주차 과제 보고서"), ("zh", "# 第五次作业报告")])
def test_a_report_is_wholly_in_the_notebooks_language(lang, markdown, settings, backprop):
    """Failures, notes about skipped code and never-run cells' labels all speak the student's language."""
    cells = [re.sub(r" *#[^\n]*", "", c)  # the solution's comments are bilingual
             .replace("self.db = np.sum(dout, axis=0)", "self.db = 2 * np.sum(dout, axis=0)")
             .replace("class Relu:", "class ReluLayer:") for c in solution_cells()]
    blob = notebook_bytes(*cells, "for i in range(3):\n    print(i)\n", markdown=markdown)
    report = pipeline.grade_bytes(blob, "nb.ipynb", backprop, settings, seed=4)
    assert report.language == lang
    messages = [c.message for u in report.units.values() for c in u.checks]
    assert len(report.notes) == 1 and report.units["Relu"].score == 0 and report.units["Affine"].score > 0
    assert [p for text in (*messages, *report.notes) for p in script_problems(lang, text)] == []
    if lang != "en":
        assert not re.search(r"\b(cell|line|passed|expected|not run|the)\b", " ".join([*messages, *report.notes]))


def failed(report, unit):
    return [c for c in report.units[unit].checks if not c.passed]


def test_imported_dependency_gets_partial_credit_and_a_hint(settings, backprop):
    cells = solution_cells()
    functions = cells[1].replace("def softmax(", "def _unused_softmax(")
    blob = notebook_bytes("from common.functions import softmax\n", *cells[:1], functions, *cells[2:5],
                          markdown="# Report")
    report = pipeline.grade_bytes(blob, "imports.ipynb", backprop, settings, seed=4, lang="en")
    unit = report.units["SoftmaxWithLoss"]
    assert 0 < unit.score < unit.max_score
    assert all(c.passed for c in unit.checks if c.variant == "reference_deps")
    message = failed(report, "SoftmaxWithLoss")[0].message
    assert "`softmax` is not defined in your notebook: it was imported from `common.functions`, " \
           "which the grader does not provide" in message


def test_missing_unit_scores_zero_and_says_so_in_japanese(settings, backprop):
    cells = solution_cells()
    without_relu = [c for c in cells if not c.startswith("class Relu")]
    blob = notebook_bytes(*without_relu, markdown="# 第4回レポート")
    report = pipeline.grade_bytes(blob, "no_relu.ipynb", backprop, settings, seed=4)
    assert report.units["Relu"].score == 0
    assert "`Relu` がノートブック内で定義されていません" in failed(report, "Relu")[0].message
    assert report.units["cross_entropy_error"].score == report.units["cross_entropy_error"].max_score


def test_wrong_values_report_the_call_shapes_and_error_without_the_expected_array(settings, backprop):
    cells = [c.replace("self.db = np.sum(dout, axis=0)", "self.db = 2 * np.sum(dout, axis=0)")
             for c in solution_cells()]
    report = pipeline.grade_bytes(notebook_bytes(*cells), "db.ipynb", backprop, settings, seed=4, lang="en")
    (check,) = [c for c in failed(report, "Affine") if c.name == "backward_db"]
    assert check.message.startswith("Affine(W (5, 3), b (3,)).forward(x (4, 5)) / .backward(dout (4, 3)): db is "
                                    "wrong in 3 of 3 values; largest error")
    assert "tolerance" in check.message


def test_exceptions_quote_the_students_own_line(settings, backprop):
    cells = [c.replace("t = t.argmax(axis=1)", "t = t.argmax(axis=7)") for c in solution_cells()]
    report = pipeline.grade_bytes(notebook_bytes(*cells), "axis.ipynb", backprop, settings, seed=4, lang="en")
    message = failed(report, "cross_entropy_error")[0].message
    assert "raised AxisError" in message and "`t = t.argmax(axis=7)`" in message and "line" in message


def test_the_harness_own_errors_are_said_in_the_students_language(settings, backprop):
    """db summed over the wrong axis: training stops on grads['b1'] of the wrong shape."""
    path = backprop.directory / "examples" / "05_affine_db_wrong_axis.ipynb"
    report = pipeline.grade_file(path, backprop, settings, seed=3, lang="zh")
    message = report.units["accuracy"].checks[0].message
    assert "grads['b1'] 的形状是 (" in message and "正确的形状是 (" in message, message
    assert script_problems("zh", message) == [] and "ShapeMismatch" not in message


W1_LINE, B2_LINE = 'grads["W1"] = self.layers["Affine1"].dW', 'grads["b2"] = self.layers["Affine2"].db\n'


@pytest.mark.parametrize("old, new, said", [
    (W1_LINE, W1_LINE.replace('"W1"', '"w1"'), "`['w1', 'b1', 'W2', 'b2']`"),   # a dict, keys named otherwise
    (B2_LINE, f"{B2_LINE}        grads = tuple(grads)\n", "not a tuple")])      # no dict at all
def test_gradient_without_a_key_says_which_keys_it_has_or_what_it_returned(old, new, said, settings, backprop):
    cells = [c.replace(old, new) for c in solution_cells()]
    report = pipeline.grade_bytes(notebook_bytes(*cells), "nb.ipynb", backprop, settings, seed=5, lang="en")
    failed = [c.message for c in report.units["gradient"].checks if not c.passed]
    assert failed and all("there is no `grads['" in m and said in m for m in failed), failed
