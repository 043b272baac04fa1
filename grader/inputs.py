"""Probe inputs, drawn from the submission's seed so a regrade sees the same numbers.

Each input names a generator from GENERATORS; a probe may name a
constraint the drawn inputs must satisfy (they are redrawn until it holds).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FileInput:
    """A large input kept in a file and mounted read-only into the sandbox (never inlined)."""

    dataset: str
    part: str

    @property
    def name(self) -> str:
        return f"{self.dataset}_{self.part}"


Value = np.ndarray | FileInput


def _normal(rng: np.random.Generator, g: dict, _: dict) -> np.ndarray:
    """Gaussian values; `row_offsets` shifts each row (first axis) by its own constant."""
    values = rng.normal(0.0, float(g.get("scale", 1.0)), size=tuple(g["shape"]))
    if "row_offsets" in g:
        values += np.reshape(g["row_offsets"], (-1,) + (1,) * (values.ndim - 1))
    return values


def _probs(rng: np.random.Generator, g: dict, drawn: dict) -> np.ndarray:
    """Softmax rows of random logits; `zero_at` sets the true class's probability to exactly 0."""
    logits = rng.normal(0.0, float(g.get("scale", 1.0)), size=tuple(g["shape"]))
    y = np.exp(logits - logits.max(axis=-1, keepdims=True))
    if "zero_at" in g:
        labels = drawn[g["zero_at"]]
        labels = labels.argmax(axis=-1) if labels.ndim == y.ndim else labels
        y.reshape(-1, y.shape[-1])[np.arange(labels.size), labels.reshape(-1)] = 0.0
    return y / y.sum(axis=-1, keepdims=True)


def _labels(rng: np.random.Generator, g: dict, _: dict) -> np.ndarray:
    """Random class indices; `balanced` draws each class equally often (in random order)."""
    n, classes = int(g["n"]), int(g["classes"])
    if g.get("balanced"):
        return rng.permutation(np.arange(n) % classes).astype(np.int64)
    return rng.integers(0, classes, size=n if n else ()).astype(np.int64)


def _one_hot(rng: np.random.Generator, g: dict, drawn: dict) -> np.ndarray:
    return np.eye(int(g["classes"]))[_labels(rng, g, drawn)]


GENERATORS: dict[str, Callable[[np.random.Generator, dict, dict], Any]] = {
    "normal": _normal,
    "probs": _probs,
    "labels": _labels,
    "one_hot": _one_hot,
    "mnist_train": lambda _rng, g, _d: FileInput("mnist_train", g["part"]),
}


def _relu_margin(drawn: dict) -> bool:
    """No pre-activation where a Relu sits, or where a misplaced one may sit (after the second
    Affine), within reach of a +/-h step: a finite difference across a kink lies. Both signs
    occur at each, so a mask that is inverted or never applied shows and a misplaced Relu
    does not leave the loss constant."""
    hidden = drawn["x"].reshape(drawn["x"].shape[0], -1) @ drawn["W1"] + drawn["b1"]
    outputs = (hidden @ drawn["W2"] + drawn["b2"], np.maximum(hidden, 0) @ drawn["W2"] + drawn["b2"])
    return all(np.min(np.abs(z)) > 2e-3 and 0.2 < np.mean(z > 0) < 0.8 for z in (hidden, *outputs))


CONSTRAINTS: dict[str, Callable[[dict], bool]] = {"relu_margin": _relu_margin}


def generate(seed: int, unit: str, probe: str, spec: dict[str, dict],
             constraint: str | None = None) -> dict[str, Value]:
    """Inputs for one probe, independent of every other probe's (so specs can change locally)."""
    rng = np.random.default_rng([seed, zlib.crc32(unit.encode()), zlib.crc32(probe.encode())])
    for _ in range(100):
        drawn: dict[str, Value] = {}
        for name, g in spec.items():
            drawn[name] = GENERATORS[g["gen"]](rng, g, drawn)
        if constraint is None or CONSTRAINTS[constraint](drawn):
            return drawn
    raise ValueError(f"{unit}/{probe}: inputs never satisfied {constraint}")
