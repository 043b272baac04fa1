"""Probes of the student's network, as the probe's spec gives it: its methods' values, its gradient,
a gradient check, and a training run.

A network probe names the class (`target`), its layer sizes (`sizes`: input, hidden..., output,
so its parameters are W1, b1, ..., Wn, bn) and the constructor's arguments (`args`, the sizes
themselves by default, and `kwargs`): `TwoLayerNet(784, 50, 10)` and `MultiLayerNet(6, [5, 4], 3,
weight_decay_lambda=0.1)` alike; a network whose parameters are not an Affine stack's names them
(`params`), built from `args` and `kwargs` (`SimpleConvNet(input_dim=(1, 28, 28), conv_param=...)`).
Each writes the probe's parameters into the student's network first, so both sides start from the
same numbers; `gradient` must be backpropagation, which the harness stops early when it plainly is
not (too many forward passes, seconds per call: a wire.Stop). Whether a gradient call ran the
network's forward at all is recorded too (`ran_forward`): no check judges it, but it is evidence
for or against a diagnosis that names a forward pass left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import wire
from .deadlines import call_deadline, step_deadline
from .recorder import Recorder, charge_later_calls, fresh, inputs_of_call, nth

MAX_FORWARD_PASSES = 4  # backprop needs one forward pass per batch; a numerical gradient, two per weight
CURVE_EVERY = 10  # training steps between two points of the recorded training curve


def layer_params(sizes: list[int]) -> tuple[str, ...]:
    """W1, b1, ..., Wn, bn: the Affine layers' parameters of a network of these layer sizes."""
    return tuple(f"{kind}{i}" for i in range(1, len(sizes)) for kind in ("W", "b"))


def parameter_count(sizes: list[int]) -> int:
    """How many numbers W1, b1, ..., Wn, bn hold."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:], strict=False))


def params_of(p: dict) -> tuple[str, ...]:
    """The probe's network's parameters: the probe's `params` where they are not an Affine stack's
    (a ConvNet's W1 is its filters), else W1, b1, ..., Wn, bn of its `sizes`."""
    return tuple(p["params"]) if "params" in p else layer_params(p["sizes"])


def size_of(p: dict, shapes: dict[str, Any]) -> int:
    """How many numbers the probe's network's parameters hold (the shapes of its inputs of those
    names, where the probe names its `params`)."""
    return sum(int(np.prod(shapes[k])) for k in p["params"]) if "params" in p else parameter_count(p["sizes"])


def construct(ns: dict, p: dict) -> Any:
    """The probe's network class called with the probe's constructor arguments."""
    return ns[p["target"]](*(p["args"] if "args" in p else p["sizes"]), **p.get("kwargs", {}))


def entry(values: Any, owner: str, key: str) -> Any:
    """`values[key]` of a dict the harness reads (`params`, `grads`): a missing key, or no dict at
    all, is said as that, not as an exception of the harness's own lookup."""
    try:
        return values[key]
    except Exception:  # KeyError, TypeError (a tuple, None) or a hostile __getitem__
        array = f"{owner}['{key}']"
        if isinstance(values, dict):
            raise wire.MissingKey(array=array, keys=wire.key_list(values)) from None
        raise wire.NotADict(array=array, got_type=wire.type_name(values)) from None


def array_of_numbers(value: Any, name: str) -> np.ndarray:
    """A parameter or gradient the harness computes with, as the array it is (dtype kept)."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value
    try:
        array = np.asarray(value)
    except Exception:  # a hostile __array__ or a ragged list
        array = None
    if array is None or array.dtype.kind not in "biuf":
        raise wire.NotAnArray(array=name, got_type=wire.type_name(value))
    return array


def loss_of(net: Any, x: np.ndarray, t: np.ndarray) -> float:
    """The network's loss as the one number the harness computes with."""
    value = net.loss(x, t)
    try:
        return float(value)
    except Exception:  # a vector of per-sample losses, None, a hostile __float__
        raise wire.NotANumber(function="loss(x, t)", got_type=wire.type_name(value),
                              got_shape=wire.shape_of(value)) from None


def _network(ns: dict, p: dict, inputs: dict) -> Any:
    """The probe's network with its parameters overwritten in place by the probe's (the initial
    draw is seeded alike on both sides, so a layer holding copies of it can be recognised)."""
    np.random.seed(0)
    net = construct(ns, p)
    for key in params_of(p):
        target = entry(net.params, "params", key)
        if not isinstance(target, np.ndarray):  # written in place below, and by the training loop
            raise wire.NotAnArray(array=f"params['{key}']", got_type=wire.type_name(target))
        if np.shape(target) != inputs[key].shape:
            raise wire.ShapeMismatch(array=f"params['{key}']", got_shape=np.shape(target),
                                     expected_shape=inputs[key].shape)
        target[...] = inputs[key]
    return net


def network_methods(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """The probe's network with the probe's parameters, and each of its `methods` (name -> the
    inputs it is called with, `loss = ["x", "t"]`) called once: the value under the method's name.
    A network built with parameters of other shapes than its sizes say fails them all, saying which."""
    methods = dict(p["methods"])
    net = None
    with rec.stage(*methods):
        net = _network(ns, p, inputs)
    for name, args in methods.items() if net is not None else ():
        with rec.stage(name):
            rec.put(name, getattr(net, name)(*fresh(args, inputs)))


def _watch_forward_passes(net: Any, counts: dict[str, int]) -> None:
    """Count calls of the network's own `loss` and `predict` (wrapped on the instance) while
    counts["active"]; stop a numerical gradient at its fifth pass rather than after minutes."""
    for name in ("loss", "predict"):
        method = getattr(net, name, None)
        if not callable(method):
            continue

        def counted(*args: Any, _method: Callable = method, _name: str = name, **kwargs: Any) -> Any:
            if counts["active"]:
                counts[_name] += 1
                if counts[_name] > MAX_FORWARD_PASSES:
                    raise wire.NotBackpropagation(passes=MAX_FORWARD_PASSES)
            return _method(*args, **kwargs)
        try:
            setattr(net, name, counted)
        except Exception:  # __slots__ and the like: nothing to count with
            pass


def _gradient_fn(ns: dict, net: Any,
                 counts: dict[str, int] | None = None) -> Callable[[Any, np.ndarray, np.ndarray], dict]:
    """The network's own `gradient` method, or else a free function `gradient(network, x, t)`;
    either must be backpropagation, not a numerical gradient in disguise (`counts`: the last
    call's forward passes)."""
    counts = {"active": 0, "loss": 0, "predict": 0} if counts is None else counts
    _watch_forward_passes(net, counts)
    if callable(getattr(net, "gradient", None)):
        def call(net: Any, x: np.ndarray, t: np.ndarray) -> dict:
            return net.gradient(x, t)
    else:
        free = ns["gradient"]

        def call(net: Any, x: np.ndarray, t: np.ndarray) -> dict:
            return free(net, x, t)

    def gradient(net: Any, x: np.ndarray, t: np.ndarray) -> dict:
        counts.update(active=1, loss=0, predict=0)
        try:
            return call(net, x, t)
        finally:
            counts["active"] = 0
    return gradient


def _gradients(ns: dict, inputs: dict, p: dict, rec: Recorder) -> Any:
    """`gradient` on the probe's network, `calls` times (each on its own batch, same network)."""
    keys = params_of(p)
    names = tuple(f"grad_{k}" for k in keys)
    calls = int(p.get("calls", 1))
    net = None
    counts = {"active": 0, "loss": 0, "predict": 0}
    with rec.stage(*names):
        net = _network(ns, p, inputs)
        gradient = _gradient_fn(ns, net, counts)
    for call in range(calls if net is not None else 0):
        these = tuple(nth(n, call) for n in names)
        grads = None
        with rec.stage(*these), call_deadline(p.get("max_call_seconds"),
                                              size_of(p, {k: np.shape(v) for k, v in inputs.items()})):
            grads = gradient(net, *fresh(["x", "t"], inputs_of_call(inputs, call, ["x", "t"])))
        rec.put(nth("ran_forward", call), int(counts["loss"] + counts["predict"] > 0))
        if grads is None:
            break
        for key, name in zip(keys, these, strict=True):
            with rec.stage(name):
                rec.put(name, entry(grads, "grads", key))
    charge_later_calls(rec, names, calls)
    return net


def network_gradient(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    _gradients(ns, inputs, p, rec)


def gradient_check(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """Backprop gradients (recorded before any loss is taken, so they cannot adapt to which
    elements are perturbed) plus the network's loss at x +/- h for every parameter element, or
    for the flat positions `coords_<param>` where the probe gives them."""
    net = _gradients(ns, inputs, p, rec)
    if net is None:
        return
    h = float(p["h"])
    for key in params_of(p):
        with rec.stage(f"lplus_{key}", f"lminus_{key}", f"step_{key}"):
            param = net.params[key]
            positions = inputs.get(f"coords_{key}", range(param.size))
            plus, minus, step = (np.empty(len(positions)) for _ in range(3))
            for n, i in enumerate(positions):
                idx = np.unravel_index(i, param.shape)
                saved = param[idx].copy()
                param[idx] = float(saved) + h
                up = float(param[idx])  # the step the parameter's dtype really took (float32 rounds)
                plus[n] = loss_of(net, *fresh(["x", "t"], inputs))
                param[idx] = float(saved) - h
                step[n] = up - float(param[idx])
                minus[n] = loss_of(net, *fresh(["x", "t"], inputs))
                param[idx] = saved
            rec.put(f"lplus_{key}", plus)
            rec.put(f"lminus_{key}", minus)
            rec.put(f"step_{key}", step)
        if f"coords_{key}" in inputs:  # the trusted side reads the positions from its own run
            rec.put(f"coords_{key}", inputs[f"coords_{key}"])


def _squared(array: np.ndarray) -> float:
    """The sum of an array's squares in one pass (a dot product: no temporary array per step)."""
    flat = np.asarray(array, dtype=float).ravel()
    return float(flat @ flat)


def _measure(params: dict, keys: tuple[str, ...], x: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Loss and accuracy of the parameters on one batch, by the grader's own forward pass
    (Affine, ReLU between, softmax), so the curve does not depend on the student's `loss`."""
    try:
        with np.errstate(all="ignore"):
            scores = x
            for n in range(0, len(keys), 2):
                hidden = np.maximum(scores, 0) if n else scores
                W, b = (np.asarray(params[k], dtype=float) for k in keys[n:n + 2])
                scores = hidden @ W + b
            scores = scores - scores.max(axis=1, keepdims=True)
            log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
            labels = t.argmax(axis=1)
            loss = float(-log_probs[np.arange(len(labels)), labels].mean())
            return loss, float((scores.argmax(axis=1) == labels).mean())
    except Exception:  # the student's params may be anything; the curve just has a gap
        return float("nan"), float("nan")


def train(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """The grader's own SGD loop around the student's network and gradient, from the grader's
    initial parameters (written into the network's arrays) over the grader's batches; it also
    records what training looked like (loss, step sizes, gradient norms) for feedback, and every
    CURVE_EVERY steps the loss and accuracy on the batch about to be trained on (the training curve;
    the grader's own forward pass is an Affine stack's, so a network with `params` of its own gets
    none). `x_shape`: each image's shape as the network takes it (a (1, 28, 28) channel for a ConvNet)."""
    keys = params_of(p)
    curved = "params" not in p
    names = tuple(f"param_{k}" for k in keys)
    every = max(1, int(p.get("record_every", 50)))
    curve: list[tuple[float, float]] = []
    with rec.stage(*names, "loss_curve", "grad_norms", "step_norms"):
        x, labels = np.asarray(inputs["x"]), np.asarray(inputs["t"], dtype=np.int64)  # a plain view of the
        x = x.reshape(len(x), *p["x_shape"]) if "x_shape" in p else x   # mapped file: a memmap wraps each batch
        t = np.eye(p["sizes"][-1] if "sizes" in p else p["classes"])[labels]
        net = _network(ns, p, inputs)
        step = _gradient_fn(ns, net)
        lr = float(p["learning_rate"])
        losses, grad_norms, step_norms = [], [], []
        positions = np.asarray(inputs["batches"], dtype=float)  # in [0, 1): the same batches for any data size
        for i, idx in enumerate(np.minimum((positions * len(x)).astype(np.int64), len(x) - 1)):
            batch = x[idx], t[idx]   # the student's step may change it: only the grader's own measure sees it before
            if curved and i % CURVE_EVERY == 0:
                curve.append(_measure(net.params, keys, *batch))
            with step_deadline(float(p.get("max_step_seconds", 2.0)), len(positions)):
                returned = step(net, *batch)
            grads = {key: array_of_numbers(entry(returned, "grads", key), f"grads['{key}']") for key in keys}
            before = {key: np.array(net.params[key], dtype=float, copy=True) for key in keys}
            for key in keys:
                if np.shape(grads[key]) != np.shape(net.params[key]):
                    raise wire.ShapeMismatch(array=f"grads['{key}']", got_shape=np.shape(grads[key]),
                                             expected_shape=np.shape(net.params[key]))
                net.params[key] -= lr * grads[key]
            grad_norms.append(float(np.sqrt(sum(_squared(grads[k]) for k in keys))))
            step_norms.append(float(np.sqrt(sum(_squared(net.params[k] - before[k]) for k in keys))))
            if i % every == 0:
                losses.append(loss_of(net, x[idx], t[idx]))
        for key in keys:
            rec.put(f"param_{key}", net.params[key])
        rec.put("loss_curve", np.array(losses))
        rec.put("grad_norms", np.array(grad_norms))
        rec.put("step_norms", np.array(step_norms))
    if curve:  # also when training stopped early: the curve shows how far it got
        rec.put("curve_loss", np.array([c[0] for c in curve]))
        rec.put("curve_accuracy", np.array([c[1] for c in curve]))
