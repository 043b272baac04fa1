"""Reference three-layer network from chapter 3: the forward pass, batch prediction and accuracy."""

import numpy as np

from reference.forward.functions import identity_function, sigmoid, softmax


def forward(network: dict, x: np.ndarray) -> np.ndarray:
    """Affine-sigmoid, Affine-sigmoid, Affine-identity, with the weights of an init_network() dict."""
    a1 = np.dot(x, network["W1"]) + network["b1"]
    z1 = sigmoid(a1)
    a2 = np.dot(z1, network["W2"]) + network["b2"]
    z2 = sigmoid(a2)
    a3 = np.dot(z2, network["W3"]) + network["b3"]
    return identity_function(a3)


def predict(network: dict, x: np.ndarray) -> np.ndarray:
    """The same network with a softmax output: class probabilities, for one image or a batch."""
    return softmax(forward(network, x))


def accuracy(network: dict, x: np.ndarray, t: np.ndarray, batch_size: int = 100) -> float:
    """The share of images whose most probable class is the label, predicted batch by batch."""
    accuracy_cnt = 0
    for i in range(0, len(x), batch_size):
        y_batch = predict(network, x[i:i + batch_size])
        p = np.argmax(y_batch, axis=1)
        accuracy_cnt += np.sum(p == t[i:i + batch_size])
    return float(accuracy_cnt) / len(x)
