"""Probes of single definitions: a function call (also on a batch and on its rows one at a time, or
repeated with NumPy's random numbers seeded), a numerical gradient, a layer's forward and backward
(also against the numerical gradient of its own forward)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from . import wire
from .recorder import Recorder, charge_later_calls, fresh, inputs_of_call, nth


def test_function(coef: dict[str, np.ndarray], shape: tuple[int, ...]) -> Callable[[np.ndarray], float]:
    """The function handed to the student's numerical gradient, its coefficients drawn from the seed
    (so no fixed function can be looked up): sum(a x^2 + b sin x + d x^3) + (sum c x)^2, absent terms 0.
    It takes x itself: an argument of another size (an element, a row) is the caller's mistake, said
    as that rather than as this function's own broadcasting error or a wrong value (a view of x in
    another shape is computed with, as before)."""
    def f(x: np.ndarray) -> float:
        if int(np.prod(wire.shape_of(x))) != int(np.prod(shape)):
            raise wire.ArgumentShape(function="f", got_shape=wire.shape_of(x), expected_shape=shape)
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


def arguments(p: dict, inputs: dict) -> list:
    """The call's arguments, fresh copies of the named inputs: a name under `dicts` is a dict of
    inputs (`network = ["W1", "b1", ...]`, as the book's init_network() returns), and the inputs
    under `take` are only the rows that the input named `rows` picks (positions in [0, 1) of
    their length: a part of a data file, drawn from the seed)."""
    if "take" in p:
        positions = np.asarray(inputs[p["rows"]], dtype=float)
        size = len(inputs[p["take"][0]])
        picked = np.minimum((positions * size).astype(np.int64), size - 1)
        inputs = {**inputs, **{name: inputs[name][picked] for name in p["take"]}}
    dicts = p.get("dicts", {})
    return [{k: np.array(inputs[k], copy=True) for k in dicts[a]} if isinstance(a, str) and a in dicts
            else fresh([a], inputs)[0] for a in p["args"]]


def call(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    with rec.stage("out"):
        rec.put("out", ns[p["target"]](*arguments(p, inputs)))


def batch_and_rows(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """The call on a whole batch (the argument named `batch`): `out`; then on each of its first
    `rows_limit` rows alone, each call with fresh arguments: `out_rows`, stacked. Code for a batch
    must give each row what the same code gives that row alone."""
    target, position = ns[p["target"]], p["args"].index(p["batch"])
    with rec.stage("out"):
        rec.put("out", target(*arguments(p, inputs)))
    with rec.stage("out_rows"):
        args = arguments(p, inputs)
        rows = []
        for i in range(min(len(args[position]), int(p.get("rows_limit", len(args[position]))))):
            args = arguments(p, inputs) if i else args
            args[position] = np.array(args[position][i], copy=True)
            rows.append(np.asarray(target(*args), dtype=float))
        rec.put("out_rows", np.stack(rows))


def seed_numpy(p: dict, inputs: dict) -> None:
    """Seed NumPy's global random numbers from the probe's input `numpy_seed` names: the reference
    then draws reproducibly, and a mutant drawing as the student's code does draws the same numbers."""
    if "numpy_seed" in p:
        np.random.seed(int(inputs[p["numpy_seed"]]) % 2**32)


def draws(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """The call `repeat` times (keyword arguments `kwargs` as given), NumPy's random numbers seeded
    first: `out`, the results stacked (judged by their statistics, not their values)."""
    with rec.stage("out"):
        seed_numpy(p, inputs)
        target = ns[p["target"]]
        rec.put("out", np.stack([np.asarray(target(*arguments(p, inputs), **p.get("kwargs", {})), dtype=float)
                                 for _ in range(int(p.get("repeat", 1)))]))


def numerical_grad(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """`numerical_grad(f, x)`; with `closure`, the book's network form: f ignores its argument and
    reads x in place (`lambda W: net.loss(x, t)`), so perturbing a copy of x gives zeros."""
    x = np.array(inputs["x"], copy=True)
    f = test_function({k: inputs[k] for k in "abcd" if k in inputs}, x.shape)
    with rec.stage("grad", "x_after"):
        rec.put("grad", ns[p["target"]]((lambda _w: f(x)) if p.get("closure") else f, x))
        rec.put("x_after", x)


def layer(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """forward then backward, `calls` times on the same object (a layer is reused in a network:
    its second call must be as right as its first). `update`: the caller changes the arrays it gave
    the constructor in place; `keep`: record those inputs as the first forward left them."""
    names = ("out", "dx", *p.get("attrs", ()))
    kept = tuple(f"{k}_after" for k in p.get("keep", ()))
    calls = int(p.get("calls", 1))
    obj = None
    with rec.stage(*names, *kept):
        seed_numpy(p, inputs)
        init = fresh(p.get("init", []), inputs)
        obj = ns[p["target"]](*init)
        for name, new in p.get("update", {}).items():  # the caller changes its arrays in place
            init[p["init"].index(name)][...] = inputs[new]
    for call in range(calls if obj is not None else 0):
        now = inputs_of_call(inputs, call, [*p["forward"], *p["backward"]])
        these = tuple(nth(n, call) for n in names)
        with rec.stage(*these, *(kept if call == 0 else ())):
            forward = fresh(p["forward"], now)
            rec.put(these[0], obj.forward(*forward))
            for name in p.get("keep", ()) if call == 0 else ():  # the inputs as forward left them
                rec.put(f"{name}_after", forward[p["forward"].index(name)])
        if rec.failed(these[0]):
            break
        with rec.stage(*these[1:]):
            rec.put(these[1], _call_backward(obj.backward, fresh(p["backward"], now), p["backward"]))
            for attr, name in zip(p.get("attrs", ()), these[2:], strict=True):
                rec.put(name, getattr(obj, attr))
    charge_later_calls(rec, names, calls)


def _call_backward(backward: Callable, args: list, spec: list) -> Any:
    """backward(dout); a loss layer's `backward(self)` that takes no dout is called without the 1."""
    if all(not isinstance(a, str) for a in spec):
        try:
            if not inspect.signature(backward).parameters:
                return backward()
        except (TypeError, ValueError):  # no signature to read: call as usual
            pass
    return backward(*args)


def layer_gradient(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """backward(dout) against the numerical gradient of the layer's own forward: the loss is
    sum(forward(...) * dout), taken at x +/- h for every element of the forward input `wrt`, and of
    each array the layer holds (`params`: attribute -> the attribute backward leaves its gradient
    in, `gamma = "dgamma"`), perturbed in place. Outputs as the network's gradient check names
    them (grad_, lplus_, lminus_, step_ per name), backward's recorded before any loss is taken."""
    wrt, held = p["wrt"], dict(p.get("params", {}))
    names = [f"{kind}_{n}" for n in (wrt, *held) for kind in ("grad", "lplus", "lminus", "step")]
    with rec.stage(*names):
        obj = ns[p["target"]](*fresh(p.get("init", []), inputs))
        forward = fresh(p["forward"], inputs)
        dout = np.array(inputs[p["backward"][0]], copy=True)
        obj.forward(*fresh(p["forward"], inputs))
        rec.put(f"grad_{wrt}", obj.backward(np.array(dout, copy=True)))
        for attr, grad in held.items():
            rec.put(f"grad_{attr}", getattr(obj, grad))
        h = float(p["h"])
        arrays = {wrt: forward[p["forward"].index(wrt)], **{attr: getattr(obj, attr) for attr in held}}
        for name, array in arrays.items():
            plus, minus, step = (np.empty(np.size(array)) for _ in range(3))
            for i in range(np.size(array)):
                idx = np.unravel_index(i, np.shape(array))
                saved = float(array[idx])
                array[idx] = saved + h
                plus[i] = float(np.sum(np.asarray(obj.forward(*forward), dtype=float) * dout))
                array[idx] = saved - h
                minus[i] = float(np.sum(np.asarray(obj.forward(*forward), dtype=float) * dout))
                array[idx] = saved
                step[i] = 2 * h
            rec.put(f"lplus_{name}", plus)
            rec.put(f"lminus_{name}", minus)
            rec.put(f"step_{name}", step)
