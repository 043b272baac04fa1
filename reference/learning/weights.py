"""Reference weight initialisation from chapter 6.2 (as MultiLayerNet.__init_weight draws each W)."""

import numpy as np


def init_weight(node_in: int, node_out: int, weight_init_std: float | str = 0.01) -> np.ndarray:
    """A (node_in, node_out) Gaussian weight matrix: std `weight_init_std`, or, by name, Xavier's
    sqrt(1/n) ('xavier', 'sigmoid') or He's sqrt(2/n) ('he', 'relu'), n the number of inputs (node_in)."""
    scale = weight_init_std
    if str(weight_init_std).lower() in ("relu", "he"):
        scale = np.sqrt(2.0 / node_in)
    elif str(weight_init_std).lower() in ("sigmoid", "xavier"):
        scale = np.sqrt(1.0 / node_in)
    return scale * np.random.randn(node_in, node_out)
