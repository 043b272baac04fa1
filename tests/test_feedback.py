"""Feedback says what failed, where, by how much, and in the student's language."""

from __future__ import annotations

import re
import string
import tomllib

import pytest

from grader import feedback, pipeline
from grader.languages import LANGUAGES
from tests.notebooks import notebook_bytes, solution_cells
from tests.scripts import script_problems

# One plain-ASCII sample per fact a template uses: a new fact fails the render test until it has one.
SAMPLE_FACTS = {
    "call": "Affine(W (5, 3), b (3,)).forward(x (4, 5))", "type": "ValueError", "message": "bad value",
    "where": "", "array": "grads['b1']", "output": "dx", "got_type": "list", "got_shape": [4, 3],
    "expected_shape": [4, 5],
    "wrong": 3, "total": 20, "max_abs_error": 0.125, "index": [1, 2], "values": "", "rtol": 1e-5,
    "atol": 1e-8, "got": 1.5, "expected": 2.5, "param": "W1", "rel_error": 0.5, "threshold": 1e-6,
    "accuracy": 0.5, "seconds": 10.0, "exit_code": -9, "reason": "", "names": "`Relu`", "why": "",
    "module": "common.functions", "cell": "In [3]", "line": 4, "detail": "x = 1", "text": "x = 1",
    "number": 3, "sizes": (784, 50, 10), "steps": 300, "batch_size": 100, "learning_rate": 0.1,
    "size_mb": 12.5, "limit_mb": 5.0, "position": 17, "column": 1,
    "error": 3e-7, "distance": 0.8, "tolerance": 1e-3, "training": "", "loss_first": 2.3, "loss_last": 2.4,
    "still_steps": 600, "grad_first": 0.5, "grad_last": 18.0, "limit": 2.0, "unit": "gradient",
    "name": "arrage", "suggestion": "arange", "function": "gradient", "cls": "SoftmaxWithLoss", "factor": 4,
    "direction": "", "parameters": 41110, "budget": 1.0, "clock_name": "", "needed": "W1_large",
}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def catalogue(lang: str, table: str = "messages") -> dict[str, str]:
    with open(feedback.CATALOGUE_DIR / f"{lang}.toml", "rb") as fh:
        return tomllib.load(fh)[table]


@pytest.mark.parametrize("table", ["messages", "outputs", "diagnoses"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_exists_in_every_language_in_the_same_order(lang, table):
    assert list(catalogue(lang, table)) == list(catalogue("en", table)), f"{lang}.toml [{table}] differs from en.toml"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_renders_with_the_same_facts_and_only_its_own_script(lang):
    problems = []
    for key, translations in feedback.MESSAGES.items():
        template = translations[lang]
        if fields(template) != fields(translations["en"]):
            problems.append(f"{key}: facts {fields(template)} differ from English")
        text = template.format_map(SAMPLE_FACTS)  # raises on a fact without a sample or a bad format spec
        problems += [f"{key}: {p}" for p in script_problems(lang, text)]
    problems += [f"output {k}: {p}" for k, v in feedback.OUTPUT_LABELS.items() for p in script_problems(lang, v[lang])]
    for key, translations in feedback.DIAGNOSES.items():
        if fields(translations[lang]) != fields(translations["en"]):
            problems.append(f"diagnosis {key}: facts differ from English")
        text = translations[lang].format_map(SAMPLE_FACTS)
        problems += [f"diagnosis {key}: {p}" for p in script_problems(lang, text)]
    assert problems == []


def test_the_books_own_terms_in_each_edition():
    terms = {"ja": ["誤差逆伝播法", "数値微分", "勾配"], "ko": ["오차역전파법", "수치 미분", "기울기"],
             "zh": ["误差反向传播法", "数值微分", "梯度"]}
    for lang, words in terms.items():
        text = " ".join(catalogue(lang).values()) + " ".join(catalogue(lang, "outputs").values())
        assert [w for w in words if w not in text] == [], lang


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
