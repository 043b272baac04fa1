"""Correct code written the way students really write it earns full marks; bugs never do."""

from __future__ import annotations

import pytest

from grader import pipeline
from tests.notebooks import notebook_bytes, solution_cells


def grade(cells: list[str], settings, backprop, seed: int = 21):
    return pipeline.grade_bytes(notebook_bytes(*cells), "variant.ipynb", backprop, settings, seed=seed, lang="en")


def changed(old: str, new: str) -> list[str]:
    cells = solution_cells()
    assert sum(c.count(old) for c in cells) == 1, old
    return [c.replace(old, new) for c in cells]


CORRECT = {
    "returns a 0-d array": changed("return float(-np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n)",
                                   "return np.asarray(-np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n)"),
    "class aliased to the graded name": changed("class Relu:", "class ReLU:") + ["Relu = ReLU\n"],
    "gradient inherited from a base class": [
        c.replace("class TwoLayerNet:", "class Network:") for c in solution_cells()
    ] + ["class TwoLayerNet(Network):\n    pass\n"],
    "softmax with an axis parameter": changed("def softmax(x):", "def softmax(x, axis=-1):"),
    "float32 parameters": changed('self.params["b2"] = np.zeros(output_size)\n',
                                  'self.params["b2"] = np.zeros(output_size)\n'
                                  '        self.params = {k: v.astype(np.float32) for k, v in self.params.items()}\n'),
    "loss layer whose backward takes no dout": [
        c.replace("self.lastLayer.backward(1)", "self.lastLayer.backward()").replace("return dx * dout", "return dx")
        for c in changed("def backward(self, dout=1):", "def backward(self):")],
}


@pytest.mark.parametrize("variant", sorted(CORRECT))
def test_correct_variants_get_full_marks(variant, settings, backprop):
    cells = CORRECT[variant]
    if variant == "softmax with an axis parameter":
        cells = [c.replace("self.y = softmax(x)", "self.y = softmax(x, axis=1)") for c in cells]
    report = grade(cells, settings, backprop)
    failed = [f"{u}.{c.name}: {c.message}" for u, unit in report.units.items() for c in unit.checks if not c.passed]
    assert report.score == report.max_score, failed


@pytest.mark.parametrize("lang, says", [("en", "that is a numerical gradient, not backpropagation"),
                                         ("ko", "수치 미분으로 구한 기울기이지 오차역전파법이 아닙니다")])
def test_a_numerical_gradient_is_not_credited_as_backpropagation(lang, says, settings, backprop):
    cells = changed("    def gradient(self, x, t):\n",
                    "    def gradient(self, x, t):\n        return self.numerical_gradient(x, t)\n\n"
                    "    def backprop(self, x, t):\n")
    report = pipeline.grade_bytes(notebook_bytes(*cells), "numerical.ipynb", backprop, settings, seed=21, lang=lang)
    for unit in ("gradient", "gradient_check", "accuracy"):
        assert report.units[unit].score == 0
        assert says in report.units[unit].checks[0].message
    assert report.units["Affine"].score == report.units["Affine"].max_score


def test_affine_weight_gradient_must_be_right_for_tensor_inputs(settings, backprop):
    cells = changed("self.x = x.reshape(x.shape[0], -1)", "self.x = x")
    cells = [c.replace("return np.dot(self.x, self.W) + self.b",
                       "return np.dot(x.reshape(x.shape[0], -1), self.W) + self.b") for c in cells]
    report = grade(cells, settings, backprop)
    affine = report.units["Affine"]
    assert 0 < affine.score < affine.max_score
    assert [c.name for c in affine.checks if not c.passed] == ["backward_dW_tensor", "backward_dW_tensor_second_call"]


def test_a_forgotten_import_is_not_borrowed_from_the_substituted_reference(settings, backprop):
    """TwoLayerNet needs OrderedDict; with the reference layers swapped in it still has to import it."""
    cells = changed("from collections import OrderedDict\n", "")
    report = grade(cells, settings, backprop)
    gradient = report.units["gradient"]
    assert gradient.score == 0
    assert {c.variant for c in gradient.checks} == {"own", "reference_deps"}
    assert all("NameError: name 'OrderedDict' is not defined" in c.message for c in gradient.checks)
    loss = report.units["SoftmaxWithLoss"]
    assert loss.score == loss.max_score  # the substitutes themselves still work


def test_a_unit_runs_again_with_the_references_dependencies_only_after_its_own_run_failed_a_check(settings, backprop):
    """A cross_entropy_error twice too large costs SoftmaxWithLoss its own share only: the unit runs again with
    the reference's and earns the rest there. `gradient` passed every check with the student's own layers, so
    it is not run a second time (nothing there could change its score)."""
    report = grade(changed("return float(-np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n)",
                           "return 2 * float(-np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n)"), settings, backprop)
    loss, gradient = report.units["SoftmaxWithLoss"], report.units["gradient"]
    assert 0 < loss.score < loss.max_score
    assert all(c.passed for c in loss.checks if c.variant == "reference_deps")
    assert "unit:SoftmaxWithLoss:reference_deps" in report.timings
    assert gradient.score == gradient.max_score and {c.variant for c in gradient.checks} == {"own", "reference_deps"}
    assert "unit:gradient:reference_deps" not in report.timings and "unit:gradient:own" in report.timings
