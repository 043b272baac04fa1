"""Known faulty variants of the forward reference: the recurring mistakes of chapter 3, as data.

Trusted code (see reference/mutants.py for how grader.diagnoses uses a catalogue): a mutant names
the reference definitions it replaces; a student's outputs that agree with a mutant's on every
output of a failed check name that mistake. A faulty activation or softmax is also seen, in the
student's own variant, in the units built on it (forward, predict, accuracy), through networks
built here with it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from reference.forward.functions import identity_function, sigmoid, softmax
from reference.forward.network import forward as reference_forward
from reference.forward.network import predict as reference_predict
from reference.mutants import BOTH, Mutant, _softmax_global_max, _softmax_unstable

Fn = Callable[[np.ndarray], np.ndarray]


# --- chapter 3 functions -------------------------------------------------------------------------

def _step_scalar_only(x: np.ndarray) -> np.ndarray:
    if x > 0:   # the book's first version: one number only
        return 1
    return 0


def _step_np_int(x: np.ndarray) -> np.ndarray:
    return np.array(x > 0, dtype=np.int)   # noqa: NPY001 - the book's code; np.int left NumPy in 1.24


def _step_at_zero(x: np.ndarray) -> np.ndarray:
    return np.array(x >= 0, dtype=int)


def _sigmoid_sign(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(x))


def _sigmoid_unstable(x: np.ndarray) -> np.ndarray:
    return np.exp(x) / (1 + np.exp(x))


def _relu_np_max(x: np.ndarray) -> np.ndarray:
    return np.max(0, x)


def _softmax_whole_batch(a: np.ndarray) -> np.ndarray:
    """The book's section 3.5 softmax: one maximum and one sum over every element."""
    exp_a = np.exp(a - np.max(a))
    return exp_a / np.sum(exp_a)


def _softmax_columns(a: np.ndarray) -> np.ndarray:
    exp_a = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return exp_a / np.sum(exp_a, axis=0)


# --- the network ---------------------------------------------------------------------------------

def _forward(act: Fn = sigmoid, out: Fn = identity_function, biases: bool = True,
             activated: tuple[bool, bool] = (True, True)) -> Callable:
    def forward(network: dict, x: np.ndarray) -> np.ndarray:
        z = x
        for layer in (1, 2, 3):
            a = np.dot(z, network[f"W{layer}"]) + (network[f"b{layer}"] if biases else 0)
            z = act(a) if layer < 3 and activated[layer - 1] else a
        return out(z)
    return forward


def _predict(forward: Callable = reference_forward, out: Fn = softmax) -> Callable:
    def predict(network: dict, x: np.ndarray) -> np.ndarray:
        return out(forward(network, x))
    return predict


def _accuracy(predict: Callable = reference_predict, axis: int = 1, whole_batches_only: bool = False) -> Callable:
    def accuracy(network: dict, x: np.ndarray, t: np.ndarray, batch_size: int = 100) -> float:
        count = 0
        stop = len(x) // batch_size * batch_size if whole_batches_only else len(x)
        for i in range(0, stop, batch_size):
            p = np.argmax(predict(network, x[i:i + batch_size]), axis=axis)
            count += np.sum(p == t[i:i + batch_size])
        return float(count) / len(x)
    return accuracy


def _everywhere(mid: str, name: str, faulty: Fn) -> list[Mutant]:
    """A faulty function in its own unit, and (own variant) in the network units that call it."""
    if name == "softmax":
        forward, predict = reference_forward, _predict(out=faulty)
    else:
        forward = _forward(act=faulty) if name == "sigmoid" else _forward(out=faulty)
        predict = _predict(forward)
    built = [Mutant(mid, ("predict",), {"predict": predict}, ("own",)),
             Mutant(mid, ("accuracy",), {"accuracy": _accuracy(predict)}, ("own",))]
    if name != "softmax":
        built.insert(0, Mutant(mid, ("forward",), {"forward": forward}, ("own",)))
    return [Mutant(mid, (name,), {name: faulty}), *built]


def _in_network(mid: str, **faults: object) -> list[Mutant]:
    """A mistake in the layers of the network, wherever the student writes them."""
    forward = _forward(**faults)
    predict = _predict(forward)
    return [Mutant(mid, ("forward",), {"forward": forward}),
            Mutant(mid, ("predict",), {"predict": predict}),
            Mutant(mid, ("accuracy",), {"accuracy": _accuracy(predict)}, ("own",))]


MUTANTS: tuple[Mutant, ...] = (
    Mutant("step_scalar_only", ("step_function",), {"step_function": _step_scalar_only}),
    Mutant("step_np_int", ("step_function",), {"step_function": _step_np_int}),
    Mutant("step_one_at_zero", ("step_function",), {"step_function": _step_at_zero}),
    *_everywhere("sigmoid_sign", "sigmoid", _sigmoid_sign),
    *_everywhere("sigmoid_overflows", "sigmoid", _sigmoid_unstable),
    Mutant("relu_np_max", ("relu",), {"relu": _relu_np_max}),
    *_everywhere("softmax_no_max_subtraction", "softmax", _softmax_unstable),
    *_everywhere("softmax_global_max", "softmax", _softmax_global_max),
    *_everywhere("softmax_over_whole_batch", "softmax", _softmax_whole_batch),
    *_everywhere("softmax_sum_over_columns", "softmax", _softmax_columns),
    *_in_network("forward_biases_missing", biases=False),
    *_in_network("forward_hidden_activation_missing", activated=(True, False)),
    *_in_network("forward_first_activation_missing", activated=(False, True)),
    Mutant("predict_without_softmax", ("predict",), {"predict": _predict(out=identity_function)}),
    Mutant("predict_without_softmax", ("accuracy",), {"accuracy": _accuracy(_predict(out=identity_function))},
           ("own",)),
    Mutant("accuracy_argmax_wrong_axis", ("accuracy",), {"accuracy": _accuracy(axis=0)}),
    Mutant("accuracy_drops_short_batch", ("accuracy",), {"accuracy": _accuracy(whole_batches_only=True)}),
)

__all__ = ["BOTH", "MUTANTS"]
