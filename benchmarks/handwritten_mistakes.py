"""Hand-written single mistakes that no mutation operator makes, for benchmarks/diagnosis_recall.py.

Each is the solution with one edit (old -> new, `old` occurring once) and the diagnoses that
would be right for it: an observation (`off_by_factor`, `transposed`) where the values show one,
else none. Any other diagnosis names a mistake the notebook does not have.
"""

from __future__ import annotations

# name -> (edits, diagnoses that are right; an empty set: only silence is right)
HANDWRITTEN: dict[str, tuple[tuple[tuple[str, str], ...], set[str]]] = {
    "cee_delta_outside_log": (
        (("np.log(y[np.arange(n), t] + 1e-7)", "np.log(y[np.arange(n), t]) + 1e-7"),), {"log_without_delta"}),
    "cee_mean_over_every_element": (
        (("return float(-np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n)",
          "return float(-np.mean(np.log(y[np.arange(n), t] + 1e-7)) / y.shape[1])"),), {"off_by_factor"}),
    "cee_fancy_index_matrix": (
        (("np.log(y[np.arange(n), t] + 1e-7)", "np.log(y[:, t] + 1e-7)"),), set()),
    "numerical_precedence": (
        (("grad[idx] = (f_plus - f_minus) / (2 * h)", "grad[idx] = (f_plus - f_minus) / 2 * h"),), {"off_by_factor"}),
    "numerical_plus_twice": (
        (("x[idx] = original - h", "x[idx] = original + h"),), set()),
    "relu_backward_sets_one": (
        (("dx[self.mask] = 0", "dx[self.mask] = 1"),), set()),
    "affine_dx_transposed": (
        (("dx = np.dot(dout, self.W.T)", "dx = np.dot(self.W, dout.T).T.T"),), {"transposed", "transpose_swapped"}),
    "softmax_loss_precedence": (
        (("dx = (self.y - self.t) / batch_size", "dx = self.y - self.t / batch_size"),), set()),
    "gradient_returns_params": (
        (('grads["W1"] = self.layers["Affine1"].dW', 'grads["W1"] = self.params["W1"]'),), set()),
    "gradient_db_from_dW": (
        (('grads["b1"] = self.layers["Affine1"].db', 'grads["b1"] = self.layers["Affine1"].dW.sum(axis=0)'),),
        set()),
    "softmax_exp_of_max": (
        (("exp_x = np.exp(shifted)", "exp_x = np.exp(shifted) + np.exp(-np.max(x))"),), set()),
}
