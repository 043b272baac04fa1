"""Probes: the calls the grader makes into a namespace of definitions.

A probe runs the same way on the student's namespace (inside the sandbox)
and on the reference namespace (in the trusted process, to compute the
expected outputs), so both sides see exactly the same call sequence.
A probe records every value it gets back, or the exception that stopped
it, per named output; it never judges anything.
"""

from __future__ import annotations

import inspect
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import numpy as np

PARAMS = ("W1", "b1", "W2", "b2")
STUDENT_FILES = ("In [", "cell ")


def test_function(coef: dict[str, np.ndarray]) -> Callable[[np.ndarray], float]:
    """The function handed to the student's numerical gradient, its coefficients drawn from the seed
    (so no fixed function can be looked up): sum(a x^2 + b sin x + d x^3) + (sum c x)^2, absent terms 0."""
    def f(x: np.ndarray) -> float:
        total = 0.0
        if "a" in coef:
            total += np.sum(coef["a"] * x ** 2)
        if "b" in coef:
            total += np.sum(coef["b"] * np.sin(x))
        if "c" in coef:
            total += np.sum(coef["c"] * x) ** 2
        if "d" in coef:
            total += np.sum(coef["d"] * x ** 3)
        return float(total)
    return f


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
    """`numerical_grad(f, x)`; with `closure`, the book's network form: f ignores its argument and
    reads x in place (`lambda W: net.loss(x, t)`), so perturbing a copy of x gives zeros."""
    x = np.array(inputs["x"], copy=True)
    f = test_function({k: inputs[k] for k in "abcd" if k in inputs})
    with rec.stage("grad", "x_after"):
        rec.put("grad", ns[p["target"]]((lambda _w: f(x)) if p.get("closure") else f, x))
        rec.put("x_after", x)


def _nth(name: str, call: int) -> str:
    """The output `name` of a probe's later call on the same object: `dx_2` is the second's dx."""
    return name if call == 0 else f"{name}_{call + 1}"


def _inputs_of_call(inputs: dict, call: int, names: list) -> dict:
    """A later call's inputs: `x2` stands for `x` on the second call, where the spec draws one."""
    later = {n: inputs[f"{n}{call + 1}"] for n in names if isinstance(n, str) and f"{n}{call + 1}" in inputs}
    return {**inputs, **later} if call else inputs


def _charge_later_calls(rec: Recorder, names: tuple[str, ...], calls: int) -> None:
    """A first call that failed fails the later calls too (with the same error), not silently."""
    for name in names:
        if name in rec.errors:
            for call in range(1, calls):
                rec.errors.setdefault(_nth(name, call), rec.errors[name])


def layer(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """forward then backward, `calls` times on the same object (a layer is reused in a network:
    its second call must be as right as its first). `update`: the caller changes the arrays it gave
    the constructor in place; `keep`: record those inputs as the first forward left them."""
    names = ("out", "dx", *p.get("attrs", ()))
    kept = tuple(f"{k}_after" for k in p.get("keep", ()))
    calls = int(p.get("calls", 1))
    obj = None
    with rec.stage(*names, *kept):
        init = _args(p.get("init", []), inputs)
        obj = ns[p["target"]](*init)
        for name, new in p.get("update", {}).items():  # the caller changes its arrays in place
            init[p["init"].index(name)][...] = inputs[new]
    for call in range(calls if obj is not None else 0):
        now = _inputs_of_call(inputs, call, [*p["forward"], *p["backward"]])
        these = tuple(_nth(n, call) for n in names)
        with rec.stage(*these, *(kept if call == 0 else ())):
            forward = _args(p["forward"], now)
            rec.put(these[0], obj.forward(*forward))
            for name in p.get("keep", ()) if call == 0 else ():  # the inputs as forward left them
                rec.put(f"{name}_after", forward[p["forward"].index(name)])
        if rec.failed(these[0]):
            break
        with rec.stage(*these[1:]):
            rec.put(these[1], _call_backward(obj.backward, _args(p["backward"], now), p["backward"]))
            for attr, name in zip(p.get("attrs", ()), these[2:], strict=True):
                rec.put(name, getattr(obj, attr))
    _charge_later_calls(rec, names, calls)


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
    """`gradient` on the probe's network, `calls` times (each on its own batch, same network)."""
    names = tuple(f"grad_{k}" for k in PARAMS)
    calls = int(p.get("calls", 1))
    net = None
    with rec.stage(*names):
        net = _network(ns, p, inputs)
        gradient = _gradient_fn(ns, net)
    for call in range(calls if net is not None else 0):
        these = tuple(_nth(n, call) for n in names)
        grads = None
        with rec.stage(*these), _call_deadline(p.get("max_call_seconds"), p["sizes"]):
            grads = gradient(net, *_args(["x", "t"], _inputs_of_call(inputs, call, ["x", "t"])))
        if grads is None:
            break
        for key, name in zip(PARAMS, these, strict=True):
            with rec.stage(name):
                rec.put(name, grads[key])
    _charge_later_calls(rec, names, calls)
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
    for key in PARAMS:
        with rec.stage(f"lplus_{key}", f"lminus_{key}", f"step_{key}"):
            param = net.params[key]
            positions = inputs.get(f"coords_{key}", range(param.size))
            plus, minus, step = (np.empty(len(positions)) for _ in range(3))
            for n, i in enumerate(positions):
                idx = np.unravel_index(i, param.shape)
                saved = param[idx].copy()
                param[idx] = float(saved) + h
                up = float(param[idx])  # the step the parameter's dtype really took (float32 rounds)
                plus[n] = float(net.loss(*_args(["x", "t"], inputs)))
                param[idx] = float(saved) - h
                step[n] = up - float(param[idx])
                minus[n] = float(net.loss(*_args(["x", "t"], inputs)))
                param[idx] = saved
            rec.put(f"lplus_{key}", plus)
            rec.put(f"lminus_{key}", minus)
            rec.put(f"step_{key}", step)
        if f"coords_{key}" in inputs:  # the trusted side reads the positions from its own run
            rec.put(f"coords_{key}", inputs[f"coords_{key}"])


CURVE_EVERY = 10  # training steps between two points of the recorded training curve


def _measure(params: dict, x: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Loss and accuracy of the parameters on one batch, by the grader's own forward pass
    (Affine-ReLU-Affine-softmax), so the curve does not depend on the student's `loss`."""
    try:
        with np.errstate(all="ignore"):
            hidden = np.maximum(x @ np.asarray(params["W1"], dtype=float) + np.asarray(params["b1"], dtype=float), 0)
            scores = hidden @ np.asarray(params["W2"], dtype=float) + np.asarray(params["b2"], dtype=float)
            scores = scores - scores.max(axis=1, keepdims=True)
            log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
            labels = t.argmax(axis=1)
            loss = float(-log_probs[np.arange(len(labels)), labels].mean())
            return loss, float((scores.argmax(axis=1) == labels).mean())
    except Exception:  # the student's params may be anything; the curve just has a gap
        return float("nan"), float("nan")


class TrainingTooSlow(Exception):
    """One training step took seconds: the run could not finish in time (and is not backprop)."""


class GradientTooSlow(Exception):
    """One gradient() call on a probe's network took seconds: not backprop (the grader's own
    evidence is the CPU time it measures outside; this only stops the call early)."""


@contextmanager
def _deadline(limit: float, stop: Callable[[], Exception]) -> Iterator[None]:
    """Raise `stop()` in a call slower than `limit` seconds, rather than wait for the unit's time
    limit: backprop of one batch takes milliseconds, a numerical gradient minutes. (Outside the
    main thread, where no alarm can be set, a slow call is only caught when it returns.)"""
    def slow(*_: Any) -> None:
        raise stop()
    alarm = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGALRM, slow) if alarm else None
    started = time.monotonic()
    if alarm:
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if time.monotonic() - started > limit:
        slow()


def _step_deadline(limit: float, steps: int) -> AbstractContextManager[None]:
    return _deadline(limit, lambda: TrainingTooSlow(
        f"one gradient() call took over {limit:g} s, so {steps} steps would take over {limit * steps:.0f} s: "
        "backpropagation of one batch takes milliseconds (is it a numerical gradient?)"))


def parameter_count(sizes: list[int]) -> int:
    """W1, b1, W2 and b2 of a TwoLayerNet(input, hidden, output)."""
    return sizes[0] * sizes[1] + sizes[1] + sizes[1] * sizes[2] + sizes[2]


def _call_deadline(limit: float | None, sizes: list[int]) -> AbstractContextManager[None]:
    """A probe's `max_call_seconds` for one gradient() call (none: no deadline)."""
    if limit is None:
        return nullcontext()
    return _deadline(float(limit), lambda: GradientTooSlow(
        f"gradient() took over {float(limit):g} s for one batch of a network with {parameter_count(sizes)} parameters: "
        "backpropagation takes milliseconds (is it a numerical gradient?)"))


def train(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """The grader's own SGD loop around the student's network and gradient, from the grader's
    initial parameters (written into the network's arrays) over the grader's batches; it also
    records what training looked like (loss, step sizes, gradient norms) for feedback, and every
    CURVE_EVERY steps the loss and accuracy on the batch about to be trained on (the training curve)."""
    names = tuple(f"param_{k}" for k in PARAMS)
    every = max(1, int(p.get("record_every", 50)))
    curve: list[tuple[float, float]] = []
    with rec.stage(*names, "loss_curve", "grad_norms", "step_norms"):
        x, labels = inputs["x"], np.asarray(inputs["t"], dtype=np.int64)
        t = np.eye(p["sizes"][2])[labels]
        net = _network(ns, p, inputs)
        step = _gradient_fn(ns, net)
        lr = float(p["learning_rate"])
        losses, grad_norms, step_norms = [], [], []
        positions = np.asarray(inputs["batches"], dtype=float)  # in [0, 1): the same batches for any data size
        for i, idx in enumerate(np.minimum((positions * len(x)).astype(np.int64), len(x) - 1)):
            if i % CURVE_EVERY == 0:
                curve.append(_measure(net.params, x[idx], t[idx]))
            with _step_deadline(float(p.get("max_step_seconds", 2.0)), len(positions)):
                grads = step(net, x[idx], t[idx])
            before = {key: np.array(net.params[key], dtype=float, copy=True) for key in PARAMS}
            for key in PARAMS:
                if np.shape(grads[key]) != np.shape(net.params[key]):
                    raise ShapeMismatch(f"grads['{key}'] has shape {np.shape(grads[key])}, "
                                        f"expected {np.shape(net.params[key])}")
                net.params[key] -= lr * grads[key]
            grad_norms.append(float(np.sqrt(sum(np.sum(np.square(grads[k], dtype=float)) for k in PARAMS))))
            step_norms.append(float(np.sqrt(sum(np.sum(np.square(net.params[k] - before[k])) for k in PARAMS))))
            if i % every == 0:
                losses.append(float(net.loss(x[idx], t[idx])))
        for key in PARAMS:
            rec.put(f"param_{key}", net.params[key])
        rec.put("loss_curve", np.array(losses))
        rec.put("grad_norms", np.array(grad_norms))
        rec.put("step_norms", np.array(step_norms))
    if curve:  # also when training stopped early: the curve shows how far it got
        rec.put("curve_loss", np.array([c[0] for c in curve]))
        rec.put("curve_accuracy", np.array([c[1] for c in curve]))


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
