"""The rules a verdict follows, each through the real sandbox on a mutated correct notebook: the
notebook runs as Jupyter runs it, every form the template allows is probed, and a value only the
grader's own harness could not use is reported as that, not as the student's crash."""

from __future__ import annotations

import pytest

from grader import pipeline
from tests.notebooks import notebook_bytes, solution_cells
from tests.variants import changed


def grade(cells: list[str], settings, backprop, seed: int = 21):
    return pipeline.grade_bytes(notebook_bytes(*cells), "rule.ipynb", backprop, settings, seed=seed, lang="en")


def scores(report) -> dict[str, str]:
    """Each unit's verdict: full, partial or zero."""
    return {u: "full" if r.score == r.max_score else "zero" if r.score == 0 else "partial"
            for u, r in report.units.items()}


def test_a_future_import_holds_for_every_later_statement_as_in_jupyter(settings, backprop):
    """`from __future__ import annotations` in the first cell: the network's class body (its cell
    before the layers', as Jupyter allows) annotates names defined later, which Python then never
    evaluates; a statement compiled without the flags would fail on them."""
    imports, functions, grad, layers, net = solution_cells()
    net = net.replace("class TwoLayerNet:\n", "class TwoLayerNet:\n    lastLayer: SoftmaxWithLoss\n"
                                              "    layers: OrderedDict[str, Affine | Relu]\n\n")
    report = grade(["from __future__ import annotations\n" + imports, net, functions, grad, layers],
                   settings, backprop)
    assert set(scores(report).values()) == {"full"}, scores(report)


LOG_DELTA_MISSING = {  # a form's own branch without the 1e-7: inf (or nan) where the true class has probability 0
    "one-hot branch": ("    if t.size == y.size:                 # one-hot -> クラス番号 / class indices\n"
                       "        t = t.argmax(axis=1)\n",
                       "    if t.size == y.size:\n        return float(-np.sum(t * np.log(y)) / y.shape[0])\n"),
    "1-D branch": ("    if y.ndim == 1:                      # 1件だけのとき / a single sample\n",
                   "    if y.ndim == 1:\n        return float(-np.log(y[t.argmax() if t.size == y.size else t]))\n"),
}


@pytest.mark.parametrize("branch", sorted(LOG_DELTA_MISSING))
def test_the_zero_probability_edge_case_is_probed_in_every_label_form_and_rank(branch, settings, backprop):
    report = grade(changed(LOG_DELTA_MISSING[branch]), settings, backprop)
    verdicts = scores(report)
    assert verdicts.pop("cross_entropy_error") == "partial"
    assert set(verdicts.values()) == {"full"}, verdicts
    failed = {c.name for c in report.units["cross_entropy_error"].checks if not c.passed}
    assert failed and all(name.startswith("zero_probability") for name in failed), failed


# the book's ch. 4 numerical_gradient: 1-D, and 2-D row by row; a 3-D x's rows are 2-D, so it raises
BOOK_CH4_GRADIENT = """def _numerical_gradient_no_batch(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in range(x.size):
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2*h)
        x[idx] = tmp_val
    return grad


def numerical_gradient(f, X):
    if X.ndim == 1:
        return _numerical_gradient_no_batch(f, X)
    grad = np.zeros_like(X)
    for idx, x in enumerate(X):
        grad[idx] = _numerical_gradient_no_batch(f, x)
    return grad
"""


def test_numerical_grad_is_probed_on_every_rank_the_template_promises(settings, backprop):
    cells = [BOOK_CH4_GRADIENT if c.startswith("def numerical_grad(") else c for c in solution_cells()]
    report = grade(cells, settings, backprop)
    verdicts = scores(report)
    assert verdicts.pop("numerical_grad") == "partial"
    assert set(verdicts.values()) == {"full"}, verdicts
    assert {c.name for c in report.units["numerical_grad"].checks if not c.passed} == {"non_separable_3d",
                                                                                       "x_restored_3d"}


HARNESS_STOPS = {  # a mistake the harness meets in a value it computes with -> the units it costs, and what they say
    "loss() returns a vector": (
        changed(("        return self.lastLayer.forward(self.predict(x), t)\n",
                 "        return self.lastLayer.forward(self.predict(x), t) * np.ones(len(x))\n")),
        {"gradient_check", "accuracy"}, "`loss(x, t)` must return a single number (the batch's loss); "
                                        "it returned a ndarray of shape ("),
    "gradient() returns a tuple": (
        changed(('        grads["b2"] = self.layers["Affine2"].db\n        return grads',
                 '        grads["b2"] = self.layers["Affine2"].db\n'
                 '        return grads["W1"], grads["b1"], grads["W2"], grads["b2"]')),
        {"gradient", "gradient_check", "accuracy"}, "there is no `grads['W1']`: a dict holding"),
    "numerical_grad calls f on one element": (
        changed(("        f_plus = f(x)\n", "        f_plus = f(original + h)\n")),
        {"numerical_grad"}, "`f` was called with an array of shape (); pass it `x` itself (shape ("),
}


@pytest.mark.parametrize("mistake", sorted(HARNESS_STOPS))
def test_a_value_the_harness_cannot_use_is_said_as_that_not_as_the_students_crash(mistake, settings, backprop):
    cells, units, says = HARNESS_STOPS[mistake]
    report = grade(cells, settings, backprop)
    assert {u for u, verdict in scores(report).items() if verdict != "full"} == units
    for unit in units:
        failed = [c.message for c in report.units[unit].checks if not c.passed]
        assert failed and any(says in m for m in failed), failed
        assert not any("raised" in m or "Python scalars" in m for m in failed), failed
