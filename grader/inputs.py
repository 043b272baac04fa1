"""Probe inputs, drawn from the submission's seed so a regrade sees the same numbers.

Each input names a generator from GENERATORS; a probe may name a
constraint the drawn inputs must satisfy (they are redrawn until it holds).
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from grader.types import FileInput, Value


def _shape(rng: np.random.Generator, g: dict, drawn: dict) -> tuple[int, ...]:
    """`shape`, where an entry [lo, hi] is drawn from lo..hi; or `like` another input's shape."""
    if "like" in g:
        return np.shape(drawn[g["like"]])
    return tuple(int(rng.integers(d[0], d[1] + 1)) if isinstance(d, list) else int(d) for d in g["shape"])


def _normal(rng: np.random.Generator, g: dict, drawn: dict) -> np.ndarray:
    """Gaussian values; `row_offsets` shifts each row (first axis) by its own constant; `exact_in`
    ("float32") rounds them to numbers that type holds exactly, so a network that keeps its
    parameters in float32 holds the very numbers the reference computes with."""
    values = rng.normal(0.0, float(g.get("scale", 1.0)), size=_shape(rng, g, drawn))
    if "row_offsets" in g:
        values += np.reshape(g["row_offsets"], (-1,) + (1,) * (values.ndim - 1))
    if "exact_in" in g:
        values = values.astype(g["exact_in"]).astype(np.float64)
    return values


def _uniform(rng: np.random.Generator, g: dict, drawn: dict) -> np.ndarray:
    """Values in [low, 1) (low 0 by default): e.g. batch positions, scaled by the probe to the size
    of a data set (low 0.75: only its last quarter)."""
    low = float(g.get("low", 0.0))
    return low + (1.0 - low) * rng.random(size=_shape(rng, g, drawn))


def _integers(rng: np.random.Generator, g: dict, drawn: dict) -> np.ndarray:
    """Whole numbers in [low, high], of `dtype` (int64 by default; "float64" for floats that are whole),
    holding every value of `include` at some random position (e.g. 0, where a step function steps)."""
    values = rng.integers(int(g["low"]), int(g["high"]) + 1, size=_shape(rng, g, drawn))
    include = list(g.get("include", ()))
    flat = values.reshape(-1)
    flat[rng.choice(flat.size, size=len(include), replace=False)] = include
    return values.astype(g.get("dtype", "int64"))


def _logits(rng: np.random.Generator, g: dict, drawn: dict) -> np.ndarray:
    """Rows of class scores that are well apart: each row is a random permutation of evenly spaced
    values in [-spread, spread], jittered by under a third of the spacing. So no two classes score
    alike (reading the wrong class is never off by a rounding error only), and every softmax
    probability stays above ~1e-3 (far from the 1e-7 of the loss's log, so `+ 1e-7`,
    `np.maximum(y, 1e-7)` and `np.clip` agree). `row_offsets` shifts each row as in `normal`."""
    shape = _shape(rng, g, drawn)
    classes, spread = shape[-1], float(g.get("spread", 3.0))
    rows = int(np.prod(shape[:-1], dtype=int))
    grid = np.linspace(-spread, spread, classes)
    jitter = (grid[1] - grid[0]) / 3 if classes > 1 else 0.0
    values = np.array([rng.permutation(grid) for _ in range(rows)]) + rng.uniform(-jitter, jitter, (rows, classes))
    values = values.reshape(shape)
    if "row_offsets" in g:
        values += np.reshape(g["row_offsets"], (-1,) + (1,) * (values.ndim - 1))
    return values


def _probs(rng: np.random.Generator, g: dict, drawn: dict) -> np.ndarray:
    """Softmax rows of `_logits`; `zero_at` sets the true class's probability to exactly 0 in the
    first `zero_rows` rows (all by default)."""
    logits = _logits(rng, g, drawn)
    y = np.exp(logits - logits.max(axis=-1, keepdims=True))
    if "zero_at" in g:
        labels = drawn[g["zero_at"]]
        labels = labels.argmax(axis=-1) if labels.ndim == y.ndim else labels
        rows = int(g.get("zero_rows", labels.size))
        y.reshape(-1, y.shape[-1])[np.arange(rows), labels.reshape(-1)[:rows]] = 0.0
    return y / y.sum(axis=-1, keepdims=True)


def _labels(rng: np.random.Generator, g: dict, _: dict) -> np.ndarray:
    """Random class indices that exercise label handling: a single label is never class 0 (code
    that reads class 0 whatever the label must not pass by luck); a batch holds min(n, classes)
    distinct classes in random order; `balanced` draws each class equally often."""
    n, classes = int(g["n"]), int(g["classes"])
    if not n:
        return np.asarray(rng.integers(1, classes), dtype=np.int64)
    if g.get("balanced"):
        return rng.permutation(np.arange(n) % classes).astype(np.int64)
    distinct = rng.choice(classes, size=min(n, classes), replace=False)
    return rng.permutation(np.concatenate([distinct, rng.integers(0, classes, size=n - distinct.size)])
                           ).astype(np.int64)


def _one_hot(rng: np.random.Generator, g: dict, drawn: dict) -> np.ndarray:
    return np.eye(int(g["classes"]))[_labels(rng, g, drawn)]


def _indices(rng: np.random.Generator, g: dict, drawn: dict) -> np.ndarray:
    """`n` distinct flat positions into the input named `of`, in increasing order (all of them if
    it has no more): where a probe samples an array the student's code cannot guess in advance."""
    size = int(np.size(drawn[g["of"]]))
    return np.sort(rng.choice(size, size=min(int(g["n"]), size), replace=False)).astype(np.int64)


GENERATORS: dict[str, Callable[[np.random.Generator, dict, dict], Any]] = {
    "normal": _normal,
    "uniform": _uniform,
    "integers": _integers,
    "logits": _logits,
    "probs": _probs,
    "labels": _labels,
    "one_hot": _one_hot,
    "indices": _indices,
    "mnist_train": lambda _rng, g, _d: FileInput("mnist_train", g["part"]),
    "mnist_network": lambda _rng, g, _d: FileInput("mnist_network", g["part"]),   # the grader's (grader/data.py)
}


def _relu_margin(drawn: dict, margin: float = 2e-3) -> bool:
    """For every batch of the probe (`x`, `x2`...) through the layers W1, b1, ..., Wn, bn: no
    pre-activation where a Relu sits, or where a misplaced or missing one may sit (after the last
    Affine; every layer's with no Relu before it), within reach of a +/-h step (a finite
    difference across a kink lies, and only away from kinks can backprop be told from a numerical
    gradient by its precision). Both signs occur at each, and every hidden unit is on for some
    sample and off for another, so a mask that is inverted or never applied always shows and a
    misplaced Relu does not leave the loss constant."""
    depth = sum(k[0] == "W" and k[1:].isdigit() for k in drawn)
    layers = [(drawn[f"W{i}"], drawn[f"b{i}"]) for i in range(1, depth + 1)]
    for batch in [v for k, v in drawn.items() if k == "x" or (k.startswith("x") and k[1:].isdigit())]:
        first = batch.reshape(batch.shape[0], -1) @ layers[0][0] + layers[0][1]
        hidden, linear, zs = [first], first, [first]
        for W, b in layers[1:]:
            linear = linear @ W + b
            zs += [linear, np.maximum(hidden[-1], 0) @ W + b]
            hidden.append(zs[-1])
        if not all(np.min(np.abs(z)) > margin and 0.2 < np.mean(z > 0) < 0.8 for z in zs):
            return False
        if not all(np.all(np.any(z > 0, axis=0)) and np.all(np.any(z < 0, axis=0)) for z in hidden[:-1]):
            return False
    return True


CONSTRAINTS: dict[str, Callable[[dict], bool]] = {
    "relu_margin": _relu_margin,
    # for a network of thousands of pre-activations, where 2e-3 takes ~25 draws: 1e-3 still exceeds
    # what a step of h = 1e-4 moves one (|x| < 10) and float32's rounding, in ~10 draws
    "relu_margin_large": functools.partial(_relu_margin, margin=1e-3),
}


def generate(seed: int, unit: str, probe: str, spec: dict[str, dict],
             constraint: str | None = None) -> dict[str, Value]:
    """Inputs for one probe, independent of every other probe's (so specs can change locally).
    Arrays are read-only: they are drawn once per seed and shared by every caller."""
    return dict(_generate(seed, unit, probe, json.dumps(spec), constraint))


@functools.lru_cache(maxsize=8192)
def _generate(seed: int, unit: str, probe: str, spec_json: str, constraint: str | None) -> dict[str, Value]:
    spec = json.loads(spec_json)
    rng = np.random.default_rng([seed, zlib.crc32(unit.encode()), zlib.crc32(probe.encode())])
    for _ in range(1000):  # a constraint may hold for only a few per cent of draws
        drawn: dict[str, Value] = {}
        for name, g in spec.items():
            drawn[name] = GENERATORS[g["gen"]](rng, g, drawn)
        if constraint is None or CONSTRAINTS[constraint](drawn):
            for value in drawn.values():
                if isinstance(value, np.ndarray):
                    value.setflags(write=False)
            return drawn
    raise ValueError(f"{unit}/{probe}: inputs never satisfied {constraint}")
