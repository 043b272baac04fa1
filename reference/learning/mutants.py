"""Known faulty variants of the learning reference: the recurring mistakes of chapter 6, as data.

Trusted code (see reference/mutants.py for how grader.diagnoses uses a catalogue): a mutant names
the reference definitions it replaces; a student's outputs that agree with a mutant's on every
output of a failed check name that mistake. The probes seed NumPy's random numbers alike on both
sides, so a faulty initialisation or mask drawn as the student's code draws it agrees value by value.
"""

from __future__ import annotations

import numpy as np

from reference.learning.layers import BatchNormalization, Dropout
from reference.learning.network import MultiLayerNet
from reference.learning.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from reference.mutants import Mutant

# --- optimizers ----------------------------------------------------------------------------------


class _SGDAscends(SGD):
    def update(self, params: dict, grads: dict) -> None:
        for key in params.keys():
            params[key] += self.lr * grads[key]


class _MomentumForgets(Momentum):
    def update(self, params: dict, grads: dict) -> None:
        self.v = None   # the velocity made anew on every call
        super().update(params, grads)


class _MomentumAscends(Momentum):
    def update(self, params: dict, grads: dict) -> None:
        if self.v is None:
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params.keys():
            self.v[key] = self.momentum * self.v[key] + self.lr * grads[key]
            params[key] += self.v[key]


class _NesterovAsMomentum(Nesterov):
    update = Momentum.update


class _AdaGradForgets(AdaGrad):
    def update(self, params: dict, grads: dict) -> None:
        for key in params.keys():
            h = grads[key] * grads[key]   # this step's square only, not the sum of all so far
            params[key] -= self.lr * grads[key] / (np.sqrt(h) + 1e-7)


class _RMSpropSwapped(RMSprop):
    def update(self, params: dict, grads: dict) -> None:
        if self.h is None:
            self.h = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params.keys():
            self.h[key] = (1 - self.decay_rate) * self.h[key] + self.decay_rate * grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + 1e-7)


class _AdamUncorrected(Adam):
    def update(self, params: dict, grads: dict) -> None:
        if self.m is None:
            self.m = {key: np.zeros_like(val) for key, val in params.items()}
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= self.lr * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)


class _AdamCountsLate(Adam):
    def update(self, params: dict, grads: dict) -> None:
        if self.m is None:
            self.m = {key: np.zeros_like(val) for key, val in params.items()}
            self.v = {key: np.zeros_like(val) for key, val in params.items()}
        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        self.iter += 1   # counted after its use: 0/0 on the first step
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)


# --- weight initialisation -----------------------------------------------------------------------

def _init(fan: str = "in", he: float = 2.0, root: bool = True, draw: str = "randn"):
    def init_weight(node_in: int, node_out: int, weight_init_std: float | str = 0.01) -> np.ndarray:
        n = node_in if fan == "in" else node_out
        scale = weight_init_std
        if str(weight_init_std).lower() in ("relu", "he"):
            scale = np.sqrt(he / n) if root else he / n
        elif str(weight_init_std).lower() in ("sigmoid", "xavier"):
            scale = np.sqrt(1.0 / n) if root else 1.0 / n
        values = np.random.randn(node_in, node_out) if draw == "randn" else np.random.rand(node_in, node_out)
        return scale * values
    return init_weight


# --- Dropout and Batch Normalization -------------------------------------------------------------

class _DropoutKeepsRatio(Dropout):
    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        if train_flg:
            self.mask = np.random.rand(*x.shape) < self.dropout_ratio   # keeps the share it should drop
            return x * self.mask
        return x * (1.0 - self.dropout_ratio)


class _DropoutInverted(Dropout):
    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.dropout_ratio
            return x * self.mask / (1.0 - self.dropout_ratio)
        return x


class _DropoutUnscaledTest(Dropout):
    def forward(self, x: np.ndarray, train_flg: bool = True) -> np.ndarray:
        return super().forward(x, train_flg) if train_flg else x


class _BatchNormMomentumSwapped(BatchNormalization):
    """running = (1 - momentum) * running + momentum * batch: the reference's rule with 1 - momentum."""

    def __init__(self, gamma: np.ndarray, beta: np.ndarray, momentum: float = 0.9, *args: np.ndarray | None) -> None:
        super().__init__(gamma, beta, 1 - momentum, *args)


class _BatchNormTestOnBatch(BatchNormalization):
    def _BatchNormalization__forward(self, x: np.ndarray, train_flg: bool) -> np.ndarray:
        saved = (self.running_mean, self.running_var)
        out = BatchNormalization._BatchNormalization__forward(self, x, True)   # the batch's own statistics
        if not train_flg:
            self.running_mean, self.running_var = saved
        return out


class _BatchNormWithoutMeanPath(BatchNormalization):
    def _BatchNormalization__backward(self, dout: np.ndarray) -> np.ndarray:
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -np.sum((dxn * self.xc) / (self.std * self.std), axis=0)
        dvar = 0.5 * dstd / self.std
        return dxc + (2.0 / self.batch_size) * self.xc * dvar   # no - dmu / N


class _BatchNormWithoutVariancePath(BatchNormalization):
    def _BatchNormalization__backward(self, dout: np.ndarray) -> np.ndarray:
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout, axis=0)
        dxc = self.gamma * dout / self.std   # no dvar term
        return dxc - np.sum(dxc, axis=0) / self.batch_size


# --- the multi-layer network's weight decay ------------------------------------------------------

class _GradientWithoutDecay(MultiLayerNet):
    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        grads = super().gradient(x, t)
        for idx in range(1, self.hidden_layer_num + 2):   # the plain backprop dW, no lambda * W
            grads["W" + str(idx)] = self.layers["Affine" + str(idx)].dW
        return grads


class _LossWithoutDecay(MultiLayerNet):
    def loss(self, x: np.ndarray, t: np.ndarray) -> float:
        return self.last_layer.forward(self.predict(x), t)   # no 0.5 * lambda * sum(W ** 2)


MUTANTS: tuple[Mutant, ...] = (
    Mutant("optimizer_ascends", ("SGD",), {"SGD": _SGDAscends}),
    Mutant("optimizer_state_reset", ("Momentum",), {"Momentum": _MomentumForgets}),
    Mutant("optimizer_ascends", ("Momentum",), {"Momentum": _MomentumAscends}),
    Mutant("nesterov_as_momentum", ("Nesterov",), {"Nesterov": _NesterovAsMomentum}),
    Mutant("adagrad_not_accumulated", ("AdaGrad",), {"AdaGrad": _AdaGradForgets}),
    Mutant("rmsprop_decay_swapped", ("RMSprop",), {"RMSprop": _RMSpropSwapped}),
    Mutant("adam_no_bias_correction", ("Adam",), {"Adam": _AdamUncorrected}),
    Mutant("adam_counts_late", ("Adam",), {"Adam": _AdamCountsLate}),
    Mutant("init_fan_out", ("init_weight",), {"init_weight": _init(fan="out")}),
    Mutant("init_he_without_two", ("init_weight",), {"init_weight": _init(he=1.0)}),
    Mutant("init_variance_as_std", ("init_weight",), {"init_weight": _init(root=False)}),
    Mutant("init_uniform", ("init_weight",), {"init_weight": _init(draw="rand")}),
    Mutant("dropout_keeps_ratio", ("Dropout",), {"Dropout": _DropoutKeepsRatio}),
    Mutant("dropout_inverted", ("Dropout",), {"Dropout": _DropoutInverted}),
    Mutant("dropout_test_unscaled", ("Dropout",), {"Dropout": _DropoutUnscaledTest}),
    Mutant("batchnorm_momentum_swapped", ("BatchNormalization",), {"BatchNormalization": _BatchNormMomentumSwapped}),
    Mutant("batchnorm_test_uses_batch", ("BatchNormalization",), {"BatchNormalization": _BatchNormTestOnBatch}),
    Mutant("batchnorm_backward_without_mean", ("BatchNormalization",),
           {"BatchNormalization": _BatchNormWithoutMeanPath}),
    Mutant("batchnorm_backward_without_variance", ("BatchNormalization",),
           {"BatchNormalization": _BatchNormWithoutVariancePath}),
    Mutant("weight_decay_missing_from_gradient", ("MultiLayerNet_gradient",), {"MultiLayerNet": _GradientWithoutDecay}),
    Mutant("weight_decay_missing_from_loss", ("MultiLayerNet",), {"MultiLayerNet": _LossWithoutDecay}),
)

__all__ = ["MUTANTS"]
