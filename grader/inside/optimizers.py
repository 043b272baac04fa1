"""Probe of an optimizer (ch. 6): `update(params, grads)` called step after step on one object, the
gradients the grader's own, computed from the parameters each step left.

The loss is a bowl, 0.5 * sum(a_k * p_k ** 2) over the keys of `params`, so each step's gradient
(a_k * p_k) follows from where the previous steps put the parameters: a state forgotten between
calls, or kept for one key only, shows from the second step on.
"""

from __future__ import annotations

import numpy as np

from . import wire
from .network import array_of_numbers, entry
from .recorder import Recorder


def current(params: object, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """params[key] as the optimizer left it: an array of numbers of the shape it was given."""
    value = array_of_numbers(entry(params, "params", key), f"params['{key}']")
    if value.shape != shape:
        raise wire.ShapeMismatch(array=f"params['{key}']", got_shape=value.shape, expected_shape=shape)
    return value


def optimizer(ns: dict, inputs: dict, p: dict, rec: Recorder) -> None:
    """`target(**init)` then `steps` updates: `trail` is the parameters after each step (one row per
    step, the keys' values flattened in order), `final` its last row, `arrays_after` the very arrays
    given in `params` after the last step (the book's layers hold them: an update must write into
    them, not put new ones in the dict)."""
    keys = list(p["params"])
    shapes = {k: np.shape(inputs[k]) for k in keys}
    with rec.stage("trail", "final", "arrays_after"):
        opt = ns[p["target"]](**p.get("init", {}))
        params = {k: np.array(inputs[k], dtype=float, copy=True) for k in keys}
        given = dict(params)
        trail = []
        for _ in range(int(p["steps"])):
            grads = {k: inputs[f"a_{k}"] * current(params, k, shapes[k]) for k in keys}
            opt.update(params, grads)
            trail.append(np.concatenate([current(params, k, shapes[k]).astype(float).ravel() for k in keys]))
        rec.put("trail", np.stack(trail))
        rec.put("final", trail[-1])
        rec.put("arrays_after", np.concatenate([given[k].ravel() for k in keys]))
