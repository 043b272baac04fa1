"""Reference activation and output functions from chapter 3."""

import numpy as np

from reference.functions import softmax  # the same as chapter 4's: over the last axis, each row's max first

__all__ = ["identity_function", "relu", "sigmoid", "softmax", "step_function"]


def step_function(x: np.ndarray) -> np.ndarray:
    """1 where x > 0, else 0 (also at exactly 0), elementwise, for any shape and dtype."""
    return np.array(x > 0, dtype=int)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(0, x)


def identity_function(x: np.ndarray) -> np.ndarray:
    return x
