"""Each recurring mistake is charged where it lives and named by its diagnosis; stubs earn nothing.

Every notebook here is the solution with one mistake, graded through the real
sandbox. The accuracy unit (a training run, never diagnosed) is left out to
keep this fast.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import catalogue, pipeline, spec
from grader.diagnoses import Diagnosis, derived, dynamic
from grader.diagnoses.static import Source, findings
from grader.expected import Expected
from grader.extraction import extract
from grader.intake import read_bytes
from grader.languages import LANGUAGES
from grader.probing import Plan
from reference import functions
from reference.mutants import MUTANTS
from tests.conftest import REPO
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

NDITER = inspect.getsource(functions.numerical_grad).replace("        it.iternext()\n", "")   # never advances
MISTAKES["loop_never_advances"] = ([c for c in solution_cells() if not c.startswith("def numerical_grad")] + [NDITER],
                                   "loop_never_advances", {"numerical_grad"}, {"Affine"})

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
              "fresh_layer_without_forward", "result_dict_rebuilt_in_loop", "loop_never_advances"}
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


# One case per operator family of grader/diagnoses/operators.py, each a mistake as a student writes it
# (the five of the unseen set among them: the bias, softmax over a batch, the loss layer, the network,
# a loop that never ends): the diagnoses allowed, and the definition they must point at.
FAMILIES: dict[str, tuple[list[str], set[str], str]] = {
    "drop_term (the bias)": (edit(("np.dot(self.x, self.W) + self.b", "np.dot(self.x, self.W)")),
                             {"drop_term"}, "Affine"),
    "drop_factor": (edit(("/ (2 * h)", "/ 2")), {"drop_factor"}, "numerical_grad"),
    "division_dropped (loss layer, index labels)": (edit(("dx = dx / batch_size", "dx = dx")),
                                                    {"division_dropped", "statement_missing",
                                                     "softmax_backward_no_batch_division"}, "SoftmaxWithLoss"),
    "division_doubled": (edit(("+ 1e-7)) / n)", "+ 1e-7)) / n / n)")), {"division_doubled"}, "cross_entropy_error"),
    "wrong_axis (softmax over the batch)": (edit(("np.sum(exp_x, axis=-1, keepdims=True)",
                                                  "np.sum(exp_x, axis=0, keepdims=True)")), {"wrong_axis"}, "softmax"),
    "axis_dropped": (edit(("np.sum(exp_x, axis=-1, keepdims=True)", "np.sum(exp_x)")), {"axis_dropped"}, "softmax"),
    "keepdims_missing": (edit(("np.max(x, axis=-1, keepdims=True)", "np.max(x, axis=-1)")),
                         {"keepdims_missing"}, "softmax"),
    "transpose_swapped": (edit(("self.dW = np.dot(self.x.T, dout)", "self.dW = np.dot(dout.T, self.x)")),
                          {"affine_dW_transposed", "transpose_swapped"}, "Affine"),
    "transpose_dropped": (edit(("dx = np.dot(dout, self.W.T)", "dx = np.dot(dout, self.W)")),
                          {"transpose_dropped"}, "Affine"),
    "reshape_missing": (edit(("self.x = x.reshape(x.shape[0], -1)", "self.x = x")), {"reshape_missing"}, "Affine"),
    "in_place_write": (edit(("out = x.copy()", "out = x")),
                       {"relu_forward_overwrites_input", "in_place_write"}, "Relu"),
    "copy_not_view": (edit(("self.b = b\n", "self.b = b.copy()\n")), {"copy_not_view"}, "Affine"),
    "call_skipped (backprop without the loss layer)": (edit(("dout = self.lastLayer.backward(1)", "dout = 1")),
                                                       {"call_skipped"}, "TwoLayerNet"),
    "wrapper_dropped (backward order)": (edit(("reversed(list(self.layers.values()))", "list(self.layers.values())")),
                                         {"backward_in_forward_order", "wrapper_dropped"}, "TwoLayerNet"),
    "comparison_inverted": (edit(("self.mask = (x <= 0)", "self.mask = (x > 0)")), {"comparison_inverted"}, "Relu"),
    "step_too_large": (edit(("    h = 1e-4\n", "    h = 1e-2\n")), {"step_too_large"}, "numerical_grad"),
    "step_too_small": (edit(("    h = 1e-4\n", "    h = 1e-12\n")), {"step_too_small"}, "numerical_grad"),
    "statement_missing (a missing layer)": (edit(('        self.layers["Relu1"] = Relu()\n', "")),
                                            {"relu_layer_missing", "statement_missing"}, "TwoLayerNet"),
    "statement_missing (db)": (edit(("        self.db = np.sum(dout, axis=0)\n", "")), {"statement_missing"}, "Affine"),
    "return_missing": (edit(("        return self.loss\n", "")), {"return_missing", "statement_missing"},
                       "SoftmaxWithLoss"),
    "statements_swapped (layers in the wrong order)": (MISTAKES["layers_wrong_order"][0],
                                                       {"layers_wrong_order", "statements_swapped"}, "TwoLayerNet"),
    "branch_never (one label form only)": (edit(("if self.t.size == self.y.size:", "if False:")),
                                           {"branch_never"}, "SoftmaxWithLoss"),
    "branch_always": (edit(("    if y.ndim == 1:  ", "    if True:  ")), {"branch_always"}, "cross_entropy_error"),
}
CURATED_IN = {"affine_dW_transposed": "Affine", "softmax_backward_no_batch_division": "SoftmaxWithLoss",
 "relu_forward_overwrites_input": "Relu",
              "backward_in_forward_order": "TwoLayerNet", "relu_layer_missing": "TwoLayerNet",
              "layers_wrong_order": "TwoLayerNet"}


@pytest.mark.parametrize("case", sorted(FAMILIES))
def test_each_operator_family_names_the_mistake_in_its_definition(case, settings, quick):
    cells, allowed, definition = FAMILIES[case]
    report = grade(cells, settings, quick, seed=sorted(FAMILIES).index(case) + 60)
    named = [c.diagnosis for r in report.units.values() for c in r.checks if c.diagnosis]
    assert named and {d["id"] for d in named} <= allowed, [(u, c.name, c.message) for u, r in report.units.items()
                                                           for c in r.checks if not c.passed][:6]
    assert all(d["message"].startswith(f"`{definition}") or CURATED_IN.get(d["id"]) == definition for d in named)


def test_the_catalogue_derived_from_the_reference_has_every_family_with_a_message_in_each_language(quick):
    program = derived.program(quick.reference, tuple(sorted(quick.aliases.items())))
    families = {m.id for m in program.mutants}
    assert families == {f.split(" ")[0] for f in FAMILIES} | {"in_place_write", "wrapper_dropped"}
    assert families <= set(catalogue.table("diagnoses"))
    hanging = [m.site.code for m in program.mutants if m.replaces is None]
    assert hanging == ["it.iternext()"]   # never run: it would not return


def test_correct_notebooks_get_no_diagnosis(settings, quick):
    examples = REPO / "assignments" / "backprop" / "examples"
    for path in (examples / "01_correct.ipynb", examples / "15_correct_module_setup_maximum_clip.ipynb"):
        report = pipeline.grade_file(path, quick, settings, seed=11)
        assert report.score == report.max_score and diagnosis_ids(report) == set()


def test_no_diagnose_grades_alike_without_hints(tmp_path):
    notebook = tmp_path / "db.ipynb"
    notebook.write_bytes(notebook_bytes(*MISTAKES["affine_db_wrong_axis"][0]))
    runs = [json.loads(subprocess.run([str(Path(sys.executable).with_name("grader")), "grade", "--assignment",
                                       "backprop", "--format", "json", "--seed", "3", *flag, str(notebook)],
                                      capture_output=True, text=True, check=True, timeout=600).stdout)[0]
            for flag in ([], ["--no-diagnose"])]
    hints = [["diagnosis" in c for u in r["units"].values() for c in u["checks"]] for r in runs]
    assert any(hints[0]) and not any(hints[1])
    scores = [{u: x["score"] for u, x in r["units"].items()} for r in runs]
    assert scores[0] == scores[1]


def test_a_gradient_that_skips_a_correct_layer_does_not_blame_that_layer(settings, quick):
    """Skipping Relu's backward in gradient() computes what a Relu without its mask would; the
    student's Relu passed all its checks, so the hint must not send them to fix it."""
    cells = edit(("        for layer in reversed(list(self.layers.values())):\n"
                  "            dout = layer.backward(dout)\n",
                  '        dout = self.layers["Affine2"].backward(dout)\n'
                  '        dout = self.layers["Affine1"].backward(dout)\n'))
    report = pipeline.grade_bytes(notebook_bytes(*cells), "nb.ipynb", quick, settings, seed=3)
    assert report.units["Relu"].score == report.units["Relu"].max_score
    assert report.units["gradient"].score < report.units["gradient"].max_score
    assert "relu_mask_not_applied" not in diagnosis_ids(report)


def test_a_cancelled_sum_is_a_zero_and_a_tiny_value_is_not():
    residue = np.array([-1.7e-18, 0.0, 5.2e-18, 0.3])     # a bias gradient's rows summed in another order
    exact = np.array([0.0, 0.0, 0.0, 0.3])
    tiny = np.array([1e-10, 0.0, 0.0, 0.3])               # a mistake's small value, inside a check's atol
    assert np.array_equal(*dynamic.structural_zeros(residue, exact))
    assert not np.array_equal(*dynamic.structural_zeros(tiny, exact))


@pytest.mark.skipif("avx2" not in Path("/proc/cpuinfo").read_text(), reason="OPENBLAS_CORETYPE=Haswell needs AVX2")
def test_a_diagnosis_does_not_depend_on_the_blas_kernels_the_operator_chose():
    """On an AVX-512 machine, Haswell's kernels add in another order than the default ones: the
    mutant (trusted side) and the student's code (sandbox) must agree whichever the operator set."""
    notebook = REPO / "assignments" / "backprop" / "examples" / "05_affine_db_wrong_axis.ipynb"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    runs = [json.loads(subprocess.run([str(Path(sys.executable).with_name("grader")), "grade", "--assignment",
                                       "backprop", "--format", "json", "--seed", "11", str(notebook)], env=kernels,
                                      capture_output=True, text=True, check=True, timeout=600).stdout)[0]
            for kernels in (env, {**env, "OPENBLAS_CORETYPE": "Haswell"})]
    hints = [{(u, c["name"]): (c["score"], (c.get("diagnosis") or {}).get("id")) for u, x in r["units"].items()
              for c in x["checks"]} for r in runs]
    assert hints[0] == hints[1]
    assert hints[0][("gradient_check", "b2_large")][1] == "affine_db_wrong_axis"


TRAINING = {  # gradient() as the training loop sees it -> what the accuracy unit's diagnosis says
    "training_params_unchanged": "return {k: np.zeros_like(v) for k, v in self.params.items()}",
    "training_gradient_ignores_batch": "return {k: np.full_like(v, 0.01) for k, v in self.params.items()}",
    "training_loss_diverging": "g = self.true_gradient(x, t)\n        return {k: -v for k, v in g.items()}",
    "training_loss_flat": "g = self.true_gradient(x, t)\n        return {k: v * 1e-4 for k, v in g.items()}",
}


@pytest.mark.parametrize("expected", sorted(TRAINING))
def test_the_accuracy_unit_says_what_training_showed(expected, settings, backprop):
    only = dataclasses.replace(backprop, units={"accuracy": backprop.units["accuracy"]})
    cells = edit((BACKPROP_METHOD, f"    def gradient(self, x, t):\n        {TRAINING[expected]}\n\n"
                                   "    def true_gradient(self, x, t):\n"))
    report = grade(cells, settings, only, seed=2)
    assert report.units["accuracy"].score == 0 and diagnosis_ids(report) == {expected}


def test_a_probe_on_a_data_file_costs_the_files_values(settings):
    """The forward assignment's MNIST probe reads its images and network from data files: it is
    the costliest probe, so a mutant that misses a cheaper failed check is never run on it."""
    forward = spec.load("forward")
    notebook = read_bytes((REPO / "assignments/forward/examples/01_correct.ipynb").read_bytes(), 10**7)
    asked = Plan(forward, extract(notebook.code_cells, forward.mode), 1, 0).probing({})
    runner = dynamic.MutantRunner(forward, Expected(forward, settings))
    assert runner._cost(asked, "predict", "mnist") > dynamic.CHEAP
