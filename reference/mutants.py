"""Known faulty variants of the reference: the recurring mistakes of this assignment, as data.

Trusted code, like the rest of reference/: it runs only in the grader's own
process (grader.diagnoses), on the same probe inputs the student's code got,
and is never sent into the sandbox. A mutant names the reference definitions
it replaces; a student's output that agrees with a mutant's on every output
of a failed check names that mistake. Order matters: the first match wins.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reference.functions import cross_entropy_error, softmax
from reference.layers import Affine, Relu, SoftmaxWithLoss
from reference.two_layer_net import TwoLayerNet

BOTH = ("own", "reference_deps")


@dataclass(frozen=True)
class Mutant:
    id: str
    units: tuple[str, ...]          # the units whose failed checks it may explain
    replaces: dict[str, object]     # reference name -> faulty definition
    variants: tuple[str, ...] = BOTH
    home: str | None = None         # the unit grading the definition it edits, where that is not in `units`


# --- chapter 4 functions -------------------------------------------------------------------------

def _cee(delta: float = 1e-7, mean: bool = True, labels: str = "both") -> Callable:
    def cee(y: np.ndarray, t: np.ndarray) -> float:
        y, t = np.asarray(y), np.asarray(t)
        if y.ndim == 1:
            t, y = t.reshape(1, t.size), y.reshape(1, y.size)
        n = y.shape[0]
        if labels == "one_hot":
            return -np.sum(t * np.log(y + delta)) / (n if mean else 1)
        if labels == "both" and t.size == y.size:
            t = t.argmax(axis=1)
        return -np.sum(np.log(y[np.arange(n), t] + delta)) / (n if mean else 1)
    return cee


def _softmax_unstable(x: np.ndarray) -> np.ndarray:
    e = np.exp(x)
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_global_max(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x))
    return e / np.sum(e, axis=-1, keepdims=True)


def _numerical(forward: bool = False, restore: bool = True, first_only: bool = False) -> Callable:
    def grad_fn(f: Callable, x: np.ndarray) -> np.ndarray:
        h = 1e-4
        grad = np.zeros_like(x)
        it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
        while not it.finished:
            idx = it.multi_index
            tmp = x[idx].copy()
            x[idx] = float(tmp) + h
            fxh1 = f(x)
            x[idx] = float(tmp) if forward else float(tmp) - h
            fxh2 = f(x)
            grad[idx] = (fxh1 - fxh2) / (h if forward else 2 * h)
            if restore:
                x[idx] = tmp
            it.iternext()
            if first_only:
                return grad
        return grad
    return grad_fn


# --- chapter 5 layers ----------------------------------------------------------------------------

class _ReluMaskInverted(Relu):
    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = dout.copy()
        dx[~self.mask] = 0
        return dx


class _ReluMaskNotApplied(Relu):
    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout


class _ReluMaskNotStored(Relu):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout[self.mask] = 0  # self.mask is still None: dout[None] selects everything
        return dout


class _ReluForwardInPlace(Relu):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x <= 0
        x[self.mask] = 0
        return x


class _AffineDbWrongAxis(Affine):
    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = super().backward(dout)
        self.db = np.sum(dout, axis=1)
        return dx


class _AffineDwTransposed(Affine):
    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = super().backward(dout)
        self.dW = np.dot(dout.T, self.x)
        return dx


class _AffineDxNotReshaped(Affine):
    def backward(self, dout: np.ndarray) -> np.ndarray:
        super().backward(dout)
        return np.dot(dout, self.W.T)


class _AffineCopiesParams(Affine):
    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        super().__init__(W.copy(), b.copy())


def _loss_layer(softmax_fn: Callable = softmax, cee: Callable = cross_entropy_error,
                divide: bool = True) -> type:
    class Loss(SoftmaxWithLoss):
        def forward(self, x: np.ndarray, t: np.ndarray) -> float:
            self.t, self.y = t, softmax_fn(x)
            self.loss = cee(self.y, t)
            return self.loss

        def backward(self, dout: float = 1) -> np.ndarray:
            dx = super().backward(dout)
            return dx * self.t.shape[0] if not divide else dx
    return Loss


# --- the network ---------------------------------------------------------------------------------

def network_with(affine: type = Affine, relu: type = Relu, loss: type = SoftmaxWithLoss,
             order: tuple[str, ...] = ("Affine1", "Relu1", "Affine2"), backward_reversed: bool = True) -> type:
    class Net(TwoLayerNet):
        def __init__(self, *sizes: int, weight_init_std: float = 0.01) -> None:
            super().__init__(*sizes, weight_init_std=weight_init_std)
            built = {"Affine1": affine(self.params["W1"], self.params["b1"]), "Relu1": relu(),
                     "Affine2": affine(self.params["W2"], self.params["b2"])}
            self.layers = OrderedDict((name, built[name]) for name in order)
            self.lastLayer = loss()

        def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
            if backward_reversed:
                return super().gradient(x, t)
            self.loss(x, t)
            dout = self.lastLayer.backward(1)
            for layer in self.layers.values():
                dout = layer.backward(dout)
            return {"W1": self.layers["Affine1"].dW, "b1": self.layers["Affine1"].db,
                    "W2": self.layers["Affine2"].dW, "b2": self.layers["Affine2"].db}
    return Net


NETWORK = ("gradient", "gradient_check")
_LOSS = ("SoftmaxWithLoss",)


def _everywhere(mid: str, name: str, faulty: object, **network: object) -> list[Mutant]:
    """A mistake in one definition, seen in its own unit and (own variant) in the units built on it."""
    own = [Mutant(mid, (name,), {name: faulty})]
    if name == "cross_entropy_error":
        own.append(Mutant(mid, _LOSS, {"SoftmaxWithLoss": _loss_layer(cee=faulty)}, ("own",), name))
        network = {"loss": _loss_layer(cee=faulty)}
    if name == "SoftmaxWithLoss":
        network = {"loss": faulty}
    return own + [Mutant(mid, NETWORK, {"TwoLayerNet": network_with(**network)}, ("own",), name)]


MUTANTS: tuple[Mutant, ...] = (
    *_everywhere("log_without_delta", "cross_entropy_error", _cee(delta=0.0)),
    *_everywhere("cee_no_batch_mean", "cross_entropy_error", _cee(mean=False)),
    *_everywhere("cee_one_hot_labels_only", "cross_entropy_error", _cee(labels="one_hot")),
    *_everywhere("cee_index_labels_only", "cross_entropy_error", _cee(labels="index")),
    Mutant("numerical_forward_difference", ("numerical_grad",), {"numerical_grad": _numerical(forward=True)}),
    Mutant("numerical_x_not_restored", ("numerical_grad",), {"numerical_grad": _numerical(restore=False)}),
    Mutant("return_inside_loop", ("numerical_grad",), {"numerical_grad": _numerical(first_only=True)}),
    *_everywhere("softmax_no_max_subtraction", "SoftmaxWithLoss", _loss_layer(softmax_fn=_softmax_unstable)),
    *_everywhere("softmax_global_max", "SoftmaxWithLoss", _loss_layer(softmax_fn=_softmax_global_max)),
    *_everywhere("softmax_backward_no_batch_division", "SoftmaxWithLoss", _loss_layer(divide=False)),
    *_everywhere("relu_mask_inverted", "Relu", _ReluMaskInverted, relu=_ReluMaskInverted),
    *_everywhere("relu_mask_not_applied", "Relu", _ReluMaskNotApplied, relu=_ReluMaskNotApplied),
    *_everywhere("relu_mask_not_stored", "Relu", _ReluMaskNotStored, relu=_ReluMaskNotStored),
    Mutant("relu_forward_overwrites_input", ("Relu",), {"Relu": _ReluForwardInPlace}),
    *_everywhere("affine_db_wrong_axis", "Affine", _AffineDbWrongAxis, affine=_AffineDbWrongAxis),
    *_everywhere("affine_dW_transposed", "Affine", _AffineDwTransposed, affine=_AffineDwTransposed),
    Mutant("affine_dx_not_reshaped", ("Affine",), {"Affine": _AffineDxNotReshaped}),
    *_everywhere("params_and_layers_differ", "Affine", _AffineCopiesParams, affine=_AffineCopiesParams),
    Mutant("backward_in_forward_order", NETWORK, {"TwoLayerNet": network_with(backward_reversed=False)}),
    Mutant("layers_wrong_order", NETWORK, {"TwoLayerNet": network_with(order=("Affine1", "Affine2", "Relu1"))}),
    Mutant("relu_layer_missing", NETWORK, {"TwoLayerNet": network_with(order=("Affine1", "Affine2"))}),
)
