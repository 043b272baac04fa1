"""Each recurring mistake is charged where it lives and named by its diagnosis; stubs earn nothing.

Every notebook here is the solution with one mistake, graded through the real
sandbox. The accuracy unit (a training run, never diagnosed) is left out to
keep this fast.
"""

from __future__ import annotations

import dataclasses

import pytest

from grader import catalogue, pipeline
from grader.diagnoses import Diagnosis
from grader.diagnoses.static import Source, findings
from grader.languages import LANGUAGES
from reference.mutants import MUTANTS
from tests.notebooks import notebook_bytes, solution_cells
from tests.verdicts import diagnosis_ids

BACKPROP_METHOD = "    def gradient(self, x, t):\n"
FREE_GRADIENT = """def gradient(network, x, t):
    network.loss(x, t)
    dout = network.lastLayer.backward(1)
    for layer in reversed(list(network.layers.values())):
        dout = layer.backward(dout)
    return {"W1": network.layers["Affine1"].dW, "b1": network.layers["Affine1"].db,
            "W2": network.layers["Affine2"].dW, "b2": self.layers["Affine2"].db}
"""


def edit(*pairs: tuple[str, str], extra: str | None = None) -> list[str]:
    """The solution with each `old` (which must occur exactly once) replaced by `new`."""
    cells = solution_cells()
    for old, new in pairs:
        assert sum(c.count(old) for c in cells) == 1, old
        cells = [c.replace(old, new) for c in cells]
    return cells + ([extra] if extra else [])


NO_METHOD = (BACKPROP_METHOD, "    def unused_backprop(self, x, t):\n")
TO_INDICES = ("    if t.size == y.size:                 # one-hot -> クラス番号 / class indices\n"
              "        t = t.argmax(axis=1)\n")

# name -> (notebook cells, the diagnosis expected, the units that must lose points, units that keep all)
MISTAKES: dict[str, tuple[list[str], str, set[str], set[str]]] = {
    "log_without_delta": (edit(("+ 1e-7)) / n)", ")) / n)")), "log_without_delta", {"cross_entropy_error"},
                          {"gradient", "gradient_check"}),
    "cee_no_batch_mean": (edit(("+ 1e-7)) / n)", "+ 1e-7)))")), "cee_no_batch_mean",
                          {"cross_entropy_error", "gradient_check"}, {"gradient"}),
    "cee_one_hot_labels_only": (edit((TO_INDICES, ""),
                                     ("np.log(y[np.arange(n), t] + 1e-7)", "t * np.log(y + 1e-7)")),
                                "cee_one_hot_labels_only", {"cross_entropy_error", "SoftmaxWithLoss"}, {"gradient"}),
    "cee_index_labels_only": (edit((TO_INDICES, "")),
                              "cee_index_labels_only", {"cross_entropy_error", "gradient"}, {"Relu"}),
    "numerical_forward_difference": (edit(("x[idx] = original - h\n", "x[idx] = original\n"),
                                          ("/ (2 * h)", "/ h")),
                                     "numerical_forward_difference", {"numerical_grad"}, {"gradient_check"}),
    "numerical_x_not_restored": (edit(("        x[idx] = original                # 元に戻す / restore\n", "")),
                                 "numerical_x_not_restored", {"numerical_grad"}, {"gradient_check"}),
    "return_inside_loop": (edit(("# 元に戻す / restore\n    return grad", "# 元に戻す / restore\n        return grad")),
                           "return_inside_loop", {"numerical_grad"}, set()),
    "softmax_no_max_subtraction": (edit(("shifted = x - np.max(x, axis=-1, keepdims=True)", "shifted = x")),
                                   "softmax_no_max_subtraction", {"SoftmaxWithLoss"}, {"gradient", "gradient_check"}),
    "softmax_global_max": (edit(("np.max(x, axis=-1, keepdims=True)", "np.max(x)")),
                           "softmax_global_max", {"SoftmaxWithLoss"}, {"gradient"}),
    "softmax_backward_no_batch_division": (edit(("dx = (self.y - self.t) / batch_size", "dx = self.y - self.t"),
                                                ("dx = dx / batch_size", "dx = dx")),
                                           "softmax_backward_no_batch_division",
                                           {"SoftmaxWithLoss", "gradient", "gradient_check"}, {"Affine"}),
    "relu_mask_inverted": (edit(("dx[self.mask] = 0", "dx[~self.mask] = 0")), "relu_mask_inverted",
                           {"Relu", "gradient", "gradient_check"}, {"Affine"}),
    "relu_mask_not_applied": (edit(("dx = dout.copy()\n        dx[self.mask] = 0\n", "dx = dout\n")),
                              "relu_mask_not_applied", {"Relu", "gradient", "gradient_check"}, {"Affine"}),
    "relu_mask_not_stored": (edit(("self.mask = (x <= 0)\n        out = x.copy()\n        out[self.mask] = 0",
                                   "mask = (x <= 0)\n        out = x.copy()\n        out[mask] = 0")),
                             "relu_mask_not_stored", {"Relu", "gradient", "gradient_check"}, {"Affine"}),
    "relu_forward_overwrites_input": (edit(("out = x.copy()", "out = x")), "relu_forward_overwrites_input",
                                      {"Relu"}, {"gradient", "gradient_check"}),
    "affine_db_wrong_axis": (edit(("np.sum(dout, axis=0)", "np.sum(dout, axis=1)")), "affine_db_wrong_axis",
                             {"Affine", "gradient", "gradient_check"}, {"Relu"}),
    "affine_dW_transposed": (edit(("self.dW = np.dot(self.x.T, dout)", "self.dW = np.dot(dout.T, self.x)")),
                             "affine_dW_transposed", {"Affine", "gradient", "gradient_check"}, {"Relu"}),
    "affine_dx_not_reshaped": (edit(("return dx.reshape(*self.original_x_shape)", "return dx")),
                               "affine_dx_not_reshaped", {"Affine"}, {"gradient", "gradient_check"}),
    "params_and_layers_differ": (edit(("self.W = W\n        self.b = b",
                                        "self.W = W.copy()\n        self.b = b.copy()")),
                                 "params_and_layers_differ", {"Affine", "gradient", "gradient_check"}, {"Relu"}),
    "backward_in_forward_order": (edit(("reversed(list(self.layers.values()))", "list(self.layers.values())")),
                                  "backward_in_forward_order", {"gradient", "gradient_check"}, {"Affine"}),
    # a forward-pass mistake: charged to gradient (and accuracy), not again to gradient_check
    "layers_wrong_order": (edit(('self.layers["Relu1"] = Relu()\n        self.layers["Affine2"] = '
                                 'Affine(self.params["W2"], self.params["b2"])',
                                 'self.layers["Affine2"] = Affine(self.params["W2"], self.params["b2"])\n'
                                 '        self.layers["Relu1"] = Relu()')),
                           "layers_wrong_order", {"gradient"}, {"gradient_check"}),
    "relu_layer_missing": (edit(('        self.layers["Relu1"] = Relu()\n', "")),
                           "relu_layer_missing", {"gradient"}, {"gradient_check"}),
    "comparison_as_statement": (edit(("        y = y.reshape(1, y.size)", "        y == y.reshape(1, y.size)")),
                                "comparison_as_statement", {"cross_entropy_error"}, {"gradient"}),
    "numpy_name_misspelt": (edit(("np.arange(n)", "np.arrage(n)")), "numpy_name_misspelt",
                            {"cross_entropy_error"}, {"Affine"}),
    "batch_size_wrong_expression": (edit(("    n = y.shape[0]\n", "    batch_size = t.argmax(axis=1)\n"
                                                                  "    n = batch_size\n")),
                                    "batch_size_wrong_expression", {"cross_entropy_error"}, {"Affine"}),
    "self_outside_method": (edit(NO_METHOD, extra=FREE_GRADIENT), "self_outside_method",
                            {"gradient", "gradient_check"}, {"Affine"}),
    "fresh_layer_without_forward": (edit(NO_METHOD, extra=FREE_GRADIENT.replace(
        "    dout = network.lastLayer.backward(1)\n", "    last = SoftmaxWithLoss()\n    dout = last.backward(1)\n")
        .replace("self.layers", "network.layers")), "fresh_layer_without_forward", {"gradient"}, {"Affine"}),
    "result_dict_rebuilt_in_loop": (edit(("            dout = layer.backward(dout)\n        grads = {}\n",
                                          "            dout = layer.backward(dout)\n            grads = {}\n"
                                          "            grads['W1'] = self.layers['Affine1'].dW\n"),
                                         ('        grads["W2"] = self.layers["Affine2"].dW\n', "")),
                                    "result_dict_rebuilt_in_loop", {"gradient"}, {"Affine"}),
}

STUBS: dict[str, tuple[list[str], str]] = {
    "return 0.0": (edit(("    y = np.asarray(y)\n    t = np.asarray(t)\n", "    return 0.0\n")),
                   "cross_entropy_error"),
    "a constant": (edit(("    y = np.asarray(y)\n    t = np.asarray(t)\n", "    return np.float64(2.3)\n")),
                   "cross_entropy_error"),
    "pass": (edit(("def cross_entropy_error(y, t):\n", "def cross_entropy_error(y, t):\n    pass\n\n\n"
                                                             "def unused(y, t):\n")), "cross_entropy_error"),
    "np.zeros_like(x)": (edit(("    h = 1e-4\n", "    return np.zeros_like(x)\n")), "numerical_grad"),
    "returns its input": (edit(("        self.mask = (x <= 0)\n", "        return x\n"),
                               ("        dx = dout.copy()\n", "        return dout\n")), "Relu"),
    "gradient of zeros": (edit(("        # 順伝播 / forward\n",
                                "        return {k: np.zeros_like(v) for k, v in self.params.items()}\n")),
                          "gradient_check"),
    "loss of nan": (edit(("    def loss(self, x, t):\n", "    def loss(self, x, t):\n        return np.nan\n")),
                    "gradient_check"),
    "constant loss": (edit(("    def loss(self, x, t):\n", "    def loss(self, x, t):\n        return 1.0\n")),
                      "gradient_check"),
}


@pytest.fixture(scope="module")
def quick(backprop):
    """The assignment without its training run (no diagnosis there, and it is the slow part)."""
    return dataclasses.replace(backprop, units={k: u for k, u in backprop.units.items() if k != "accuracy"})


def grade(cells: list[str], settings, assignment, seed: int, lang: str = "en"):
    return pipeline.grade_bytes(notebook_bytes(*cells), "variant.ipynb", assignment, settings, seed=seed, lang=lang)


def test_every_catalogued_mistake_has_a_notebook_and_a_message_in_each_language():
    static = {"comparison_as_statement", "numpy_name_misspelt", "batch_size_wrong_expression", "self_outside_method",
              "fresh_layer_without_forward", "result_dict_rebuilt_in_loop"}
    assert {m.id for m in MUTANTS} | static == set(MISTAKES)
    assert all(set(texts) == set(LANGUAGES) for texts in catalogue.table("diagnoses").values())


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_each_mistake_costs_its_units_and_is_named_alone(name, settings, quick):
    cells, expected, losing, keeping = MISTAKES[name]
    report = grade(cells, settings, quick, seed=sorted(MISTAKES).index(name) + 30)
    scores = {u: (r.score, r.max_score) for u, r in report.units.items()}
    assert all(scores[u][0] < scores[u][1] for u in losing), scores
    assert all(scores[u][0] == scores[u][1] for u in keeping), scores
    assert diagnosis_ids(report) == {expected}, [(u, c.name, c.message) for u, r in report.units.items()
                                                 for c in r.checks if not c.passed]
    named = [c for r in report.units.values() for c in r.checks if c.diagnosis]
    assert all(not c.passed for c in named)  # only failed checks carry a diagnosis


@pytest.mark.parametrize("stub", sorted(STUBS))
def test_a_stub_scores_zero_in_its_unit(stub, settings, quick):
    cells, unit = STUBS[stub]
    report = grade(cells, settings, quick, seed=5)
    assert report.units[unit].score == 0, [(c.name, c.message) for c in report.units[unit].checks]
    others = [u for u in report.units if u != unit and u not in {"SoftmaxWithLoss", "gradient", "gradient_check"}]
    assert all(report.units[u].score == report.units[u].max_score for u in others)


def test_a_diagnosis_is_in_the_report_language_and_in_json(settings, quick):
    report = grade(MISTAKES["affine_db_wrong_axis"][0], settings, quick, seed=7, lang="ja")
    check = next(c for c in report.units["Affine"].checks if c.diagnosis)
    assert check.to_dict()["diagnosis"] == {"id": "affine_db_wrong_axis",
                                            "message": Diagnosis("affine_db_wrong_axis", {}).render("ja")["message"]}
    assert "axis=0" in check.diagnosis["message"] and "軸" in check.diagnosis["message"]
    assert all("diagnosis" not in c.to_dict() for c in report.units["Relu"].checks)


def test_writefile_modules_are_graded_on_their_definitions(settings, quick):
    cells = solution_cells()
    layers = next(c for c in cells if c.startswith("class Relu"))
    notebook = [c for c in cells if c is not layers]
    notebook.insert(1, "%%writefile layers.py\nimport numpy as np\n\n" + layers)
    notebook.insert(2, "from layers import *\n")
    report = grade(notebook, settings, quick, seed=9)
    assert report.score == report.max_score, [(u, c.message) for u, r in report.units.items()
                                              for c in r.checks if not c.passed]


CORRECT_STYLES = '''
def cross_entropy_error(y, t):
    batch_size = np.size(y, 0)
    return -np.sum(np.log(np.clip(y[np.arange(batch_size), t], 1e-12, 1.0))) / batch_size


class Net:
    def numerical_gradient(self, x, t):
        loss_w = lambda w: self.loss(x, t)
        def nested(w):
            return self.loss(x, t)
        for key in ("W1",):
            if key not in self.params:
                return None
        return {k: numerical_grad(nested, v) for k, v in self.params.items()}
'''


def test_static_evidence_finds_nothing_in_correct_code():
    sources = [Source("In [1]", 1, c) for c in [*solution_cells(), CORRECT_STYLES]]
    assert findings(sources, {"np"}) == []
