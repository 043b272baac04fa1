"""Variants of the solution: correct code in other styles, and single realistic mistakes.

Each variant is the solution's definition cells with one change; a faulty variant names the
units its mistake must cost points in (every other unit must stay full).
"""

from __future__ import annotations

import inspect

from reference.functions import numerical_grad as reference_numerical_grad
from tests.notebooks import solution_cells

CEE_LOG = "np.log(y[np.arange(n), t] + 1e-7)"
LAYER_LOOP = "        for layer in reversed(list(self.layers.values())):\n            dout = layer.backward(dout)\n"


def changed(*edits: tuple[str, str], cells: list[str] | None = None) -> list[str]:
    """The solution's cells with each `old` (which must occur exactly once) replaced by `new`."""
    cells = list(solution_cells() if cells is None else cells)
    for old, new in edits:
        assert sum(c.count(old) for c in cells) == 1, old
        cells = [c.replace(old, new) for c in cells]
    return cells


NDITER = inspect.getsource(reference_numerical_grad)  # the book's ch. 5 nditer version

CORRECT: dict[str, list[str]] = {
    "solution": solution_cells(),
    "cee clips with np.maximum": changed((CEE_LOG, "np.log(np.maximum(y[np.arange(n), t], 1e-7))")),
    "cee clips with np.clip": changed((CEE_LOG, "np.log(np.clip(y[np.arange(n), t], 1e-7, 1.0))")),
    "numerical_grad with nditer (book ch. 5)": [
        NDITER if c.startswith("def numerical_grad") else c for c in solution_cells()],
    "Relu with a boolean multiply": changed(
        ("        self.mask = (x <= 0)\n        out = x.copy()\n        out[self.mask] = 0\n        return out\n",
         "        self.mask = x > 0\n        return x * self.mask\n"),
        ("        dx = dout.copy()\n        dx[self.mask] = 0\n        return dx\n",
         "        return dout * self.mask\n")),
    "Affine with matmul and len": changed(
        ("self.x = x.reshape(x.shape[0], -1)", "self.x = x.reshape(len(x), -1)"),
        ("return np.dot(self.x, self.W) + self.b", "return self.x @ self.W + self.b"),
        ("self.dW = np.dot(self.x.T, dout)", "self.dW = self.x.T @ dout")),
    "layers copied then reversed (book)": changed(
        (LAYER_LOOP, "        layers = list(self.layers.values())\n        layers.reverse()\n"
                     "        for layer in layers:\n            dout = layer.backward(dout)\n")),
    "module-level rng used in __init__": changed(
        ('self.params["W1"] = weight_init_std * np.random.randn(input_size, hidden_size)',
         'self.params["W1"] = weight_init_std * rng.standard_normal((input_size, hidden_size))'),
        ('self.params["W2"] = weight_init_std * np.random.randn(hidden_size, output_size)',
         'self.params["W2"] = weight_init_std * rng.standard_normal((hidden_size, output_size))'),
    ) + ["rng = np.random.default_rng(2024)\nnp.set_printoptions(precision=4)\n"
         "CLASS_NAMES = [str(k) for k in range(10)]\n"],
}

# name -> (cells, the units the mistake must cost points in). A numerical gradient is not here: its
# verdict rests on the cost the sandbox measures (tests/test_backprop_cost.py), and in this process
# each of its probe runs would last until the harness's one-second stop.
FAULTY: dict[str, tuple[list[str], set[str]]] = {
    "cee without batch mean": (changed(("/ n)", ")")), {"cross_entropy_error", "SoftmaxWithLoss", "gradient_check"}),
    "cee without 1e-7": (changed((CEE_LOG, "np.log(y[np.arange(n), t])")), {"cross_entropy_error"}),
    "cee argmax on every 1-D label": (changed((
        "        t = t.reshape(1, t.size)\n", "        t = t.reshape(1, t.size).argmax(axis=1)\n")),
        {"cross_entropy_error"}),
    "numerical_grad forward difference": (changed((
        "grad[idx] = (f_plus - f_minus) / (2 * h)", "grad[idx] = (f_plus - f(x)) / h")), {"numerical_grad"}),
    "numerical_grad does not restore x": (changed(("        x[idx] = original                # 元に戻す / restore\n",
                                                    "")), {"numerical_grad"}),
    "numerical_grad perturbs a copy of x": (changed((
        "    grad = np.zeros_like(x)\n", "    grad = np.zeros_like(x)\n    x = x.astype(float)\n")),
        {"numerical_grad"}),
    "Relu mask inverted": (changed(("dx[self.mask] = 0", "dx[~self.mask] = 0")), {"Relu", "gradient",
                                                                                   "gradient_check", "accuracy"}),
    "Relu backward ignores its mask": (
        changed(("        dx[self.mask] = 0\n        return dx\n", "        return dx\n")),
        {"Relu", "gradient", "gradient_check", "accuracy"}),
    "Affine db over the wrong axis": (changed(("np.sum(dout, axis=0)", "np.sum(dout, axis=1)")),
                                      {"Affine", "gradient", "gradient_check", "accuracy"}),
    "Affine dW accumulates across calls": (changed(
        ("        self.dW = None\n", "        self.dW = np.zeros_like(W)\n"),
        ("self.dW = np.dot(self.x.T, dout)", "self.dW += np.dot(self.x.T, dout)")),
        {"Affine", "gradient", "accuracy"}),
    "Affine dx not reshaped": (changed(("return dx.reshape(*self.original_x_shape)", "return dx")), {"Affine"}),
    "SoftmaxWithLoss backward not divided by the batch": (changed((
        "            dx = (self.y - self.t) / batch_size\n", "            dx = self.y - self.t\n")),
        {"SoftmaxWithLoss", "gradient", "gradient_check", "accuracy"}),
    "SoftmaxWithLoss forward arguments swapped": (changed((
        "self.loss = cross_entropy_error(self.y, self.t)", "self.loss = cross_entropy_error(self.t, self.y)")),
        {"SoftmaxWithLoss", "gradient_check"}),
    "softmax without subtracting the maximum": (changed((
        "    shifted = x - np.max(x, axis=-1, keepdims=True)\n", "    shifted = x\n")), {"SoftmaxWithLoss"}),
    "gradient forgets to reverse": (changed((
        "for layer in reversed(list(self.layers.values())):", "for layer in self.layers.values():")),
        {"gradient", "gradient_check", "accuracy"}),
    "gradient reverses a shared layer list in place": (changed(
        ('        self.lastLayer = SoftmaxWithLoss()\n',
         '        self.lastLayer = SoftmaxWithLoss()\n        self.layer_list = list(self.layers.values())\n'),
        ("        for layer in self.layers.values():\n            x = layer.forward(x)\n",
         "        for layer in self.layer_list:\n            x = layer.forward(x)\n"),
        (LAYER_LOOP, "        self.layer_list.reverse()\n"
                     "        for layer in self.layer_list:\n            dout = layer.backward(dout)\n")),
        {"gradient", "gradient_check", "accuracy"}),
    "gradient never runs the loss layer's forward": (changed((
        "        dout = self.lastLayer.backward(1)\n", "        dout = SoftmaxWithLoss().backward(1)\n")),
        {"gradient", "gradient_check", "accuracy"}),
}
