"""Probes: the calls the grader makes into a namespace of definitions.

A probe runs the same way on the student's namespace (inside the sandbox)
and on the reference namespace (in the trusted process, to compute the
expected outputs), so both sides see exactly the same call sequence.
A probe records every value it gets back, or the exception that stopped
it, per named output; it never judges anything.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

PARAMS = ("W1", "b1", "W2", "b2")
STUDENT_FILES = ("In [", "cell ")

# Functions handed to the student's numerical gradient, by name (the spec names them).
TEST_FUNCTIONS: dict[str, Callable[[np.ndarray], float]] = {
    "sum_of_squares": lambda x: np.sum(x ** 2),
    "sum_of_cubes": lambda x: np.sum(x ** 3),
    "coupled": lambda x: np.sum(x) ** 2 + np.sum(np.sin(x)),
}


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """Type, message and the frames in the student's cells, for feedback."""
    try:
        message = str(exc)[:500]
    except Exception:  # a hostile __str__
        message = "<unprintable>"
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(STUDENT_FILES) or frame.filename == "<reference>":
            frames.append([frame.filename, frame.lineno, frame.name])
    return {"type": type(exc).__name__, "message": message, "frames": frames[-5:]}


class Recorder:
    """Collects a probe's outputs (snapshotted) and the error that stopped each one."""

    def __init__(self) -> None:
        self.outputs: dict[str, Any] = {}
        self.errors: dict[str, dict[str, Any]] = {}

    def put(self, name: str, value: Any) -> None:
        if isinstance(value, np.ndarray):
            value = np.array(value, copy=True)
        self.outputs[name] = value

    def failed(self, *names: str) -> bool:
        return any(n in self.errors for n in names)

    @contextmanager
    def stage(self, *names: str) -> Iterator[None]:
        """Run one step; an exception there (even SystemExit) is charged to `names`."""
        try:
            yield
        except BaseException as exc:  # noqa: B036 - student code may raise anything
            info = describe_exception(exc)
            for name in names:
                if name not in self.outputs:
                    self.errors.setdefault(name, info)


def _args(spec: list, inputs: dict[str, np.ndarray]) -> list:
    """Fresh copies of named inputs (student code may modify them); numbers pass as they are."""
    return [np.array(inputs[a], copy=True) if isinstance(a, str) else a for a in spec]


def call(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    with rec.stage("out"):
        rec.put("out", ns[p["target"]](*_args(p["args"], inputs)))


def numerical_grad(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """`closure`: f ignores its argument and reads x in place, as `lambda W: self.loss(x, t)` does."""
    x = np.array(inputs["x"], copy=True)
    fn = TEST_FUNCTIONS[p["function"]]
    f = (lambda _arg: fn(x)) if p.get("closure") else fn
    with rec.stage("grad", "x_after"):
        rec.put("grad", ns[p["target"]](f, x))
        rec.put("x_after", x)


def layer(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    names = ("out", "dx", *p.get("attrs", ()), *(f"{k}_after" for k in p.get("keep", ())))
    obj = None
    with rec.stage(*names):
        init = _args(p.get("init", []), inputs)
        obj = ns[p["target"]](*init)
        for name, new in p.get("update", {}).items():  # the caller changes its arrays in place
            init[p["init"].index(name)][...] = inputs[new]
    if obj is None:
        return
    with rec.stage(*names):
        forward = _args(p["forward"], inputs)
        rec.put("out", obj.forward(*forward))
        for name in p.get("keep", ()):  # the inputs as forward left them
            rec.put(f"{name}_after", forward[p["forward"].index(name)])
    if rec.failed("out"):
        return
    with rec.stage(*names[1:]):
        rec.put("dx", _call_backward(obj.backward, _args(p["backward"], inputs), p["backward"]))
        for attr in p.get("attrs", ()):
            rec.put(attr, getattr(obj, attr))


def _call_backward(backward: Callable, args: list, spec: list) -> Any:
    """backward(dout); a loss layer's `backward(self)` that takes no dout is called without the 1."""
    if all(not isinstance(a, str) for a in spec):
        try:
            if not inspect.signature(backward).parameters:
                return backward()
        except (TypeError, ValueError):  # no signature to read: call as usual
            pass
    return backward(*args)


class ShapeMismatch(ValueError):
    """An array of the student's network has the wrong shape. The message keeps one wording,
    `grads['b1'] has shape (100,), expected (50,)`: feedback reads it back to say it in the
    student's language."""


def _network(ns: dict, p: dict, inputs: dict) -> Any:
    """The namespace's TwoLayerNet with its parameters overwritten in place by the probe's (the
    initial draw is seeded alike on both sides, so a layer holding copies of it can be recognised)."""
    np.random.seed(0)
    net = ns["TwoLayerNet"](*p["sizes"])
    for key in PARAMS:
        target = net.params[key]
        if np.shape(target) != inputs[key].shape:
            raise ShapeMismatch(f"params['{key}'] has shape {np.shape(target)}, expected {inputs[key].shape}")
        target[...] = inputs[key]
    return net


class NotBackpropagation(Exception):
    """`gradient` evaluated the network many times: a numerical gradient, not backprop."""


MAX_FORWARD_PASSES = 4  # backprop needs one forward pass per batch; a numerical gradient, two per weight


def _not_backprop(passes: int) -> NotBackpropagation:
    return NotBackpropagation(f"gradient() ran the network forward more than {passes - 1} times for one batch: "
                              "that is a numerical gradient; backpropagation needs one forward and one backward pass")


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
                    raise _not_backprop(counts[_name])
            return _method(*args, **kwargs)
        try:
            setattr(net, name, counted)
        except Exception:  # __slots__ and the like: nothing to count with
            pass


def _gradient_fn(ns: dict, net: Any) -> Callable[[Any, np.ndarray, np.ndarray], dict]:
    """The network's own `gradient` method, or else a free function `gradient(network, x, t)`;
    either must be backpropagation, not a numerical gradient in disguise."""
    counts = {"active": 0, "loss": 0, "predict": 0}
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
    names = tuple(f"grad_{k}" for k in PARAMS)
    net = grads = None
    with rec.stage(*names):
        net = _network(ns, p, inputs)
        grads = _gradient_fn(ns, net)(net, *_args(["x", "t"], inputs))
    for key in PARAMS if grads is not None else ():
        with rec.stage(f"grad_{key}"):
            rec.put(f"grad_{key}", grads[key])
    return net


def network_gradient(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    _gradients(ns, inputs, p, rec)


def gradient_check(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """Backprop gradients plus the network's loss at x +/- h for every parameter element."""
    net = _gradients(ns, inputs, p, rec)
    if net is None:
        return
    h = float(p["h"])
    for key in PARAMS:
        with rec.stage(f"lplus_{key}", f"lminus_{key}", f"step_{key}"):
            param = net.params[key]
            plus, minus, step = np.empty(param.size), np.empty(param.size), np.empty(param.size)
            for i in range(param.size):
                idx = np.unravel_index(i, param.shape)
                saved = param[idx].copy()
                param[idx] = float(saved) + h
                up = float(param[idx])  # the step the parameter's dtype really took (float32 rounds)
                plus[i] = float(net.loss(*_args(["x", "t"], inputs)))
                param[idx] = float(saved) - h
                step[i] = up - float(param[idx])
                minus[i] = float(net.loss(*_args(["x", "t"], inputs)))
                param[idx] = saved
            rec.put(f"lplus_{key}", plus)
            rec.put(f"lminus_{key}", minus)
            rec.put(f"step_{key}", step)


def train(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """The grader's own SGD loop around the student's network and gradient."""
    names = tuple(f"param_{k}" for k in PARAMS)
    with rec.stage(*names):
        x, labels = inputs["x"], np.asarray(inputs["t"], dtype=np.int64)
        t = np.eye(p["sizes"][2])[labels]
        np.random.seed(p["seed"])
        net = ns["TwoLayerNet"](*p["sizes"])
        step = _gradient_fn(ns, net)
        rng = np.random.default_rng(p["seed"])
        lr = float(p["learning_rate"])
        for _ in range(int(p["steps"])):
            idx = rng.integers(0, x.shape[0], int(p["batch_size"]))
            grads = step(net, x[idx], t[idx])
            for key in PARAMS:
                if np.shape(grads[key]) != np.shape(net.params[key]):
                    raise ShapeMismatch(f"grads['{key}'] has shape {np.shape(grads[key])}, "
                                        f"expected {np.shape(net.params[key])}")
                net.params[key] -= lr * grads[key]
        for key in PARAMS:
            rec.put(f"param_{key}", net.params[key])


PROBES: dict[str, Callable[[dict, dict, dict, Recorder], None]] = {
    "call": call,
    "numerical_grad": numerical_grad,
    "layer": layer,
    "network_gradient": network_gradient,
    "gradient_check": gradient_check,
    "train": train,
}


def run_probe(ns: dict, kind: str, inputs: dict, params: dict) -> Recorder:
    rec = Recorder()
    PROBES[kind](ns, inputs, params, rec)
    return rec
