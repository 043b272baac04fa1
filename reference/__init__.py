"""The instructor's reference implementation of the backprop assignment.

Trusted code: it runs only in the grader's own process to compute expected
values. It is never mounted into the sandbox; the few definitions a unit's
substituted variant needs are sent there by name, as compiled code
(grader.probing.reference_code).
"""

from reference.functions import cross_entropy_error, numerical_grad, softmax
from reference.layers import Affine, Relu, SoftmaxWithLoss
from reference.two_layer_net import TwoLayerNet

NAMESPACE: dict[str, object] = {
    "softmax": softmax,
    "cross_entropy_error": cross_entropy_error,
    "numerical_grad": numerical_grad,
    "numerical_gradient": numerical_grad,
    "Relu": Relu,
    "Affine": Affine,
    "SoftmaxWithLoss": SoftmaxWithLoss,
    "TwoLayerNet": TwoLayerNet,
}

__all__ = ["NAMESPACE", "Affine", "Relu", "SoftmaxWithLoss", "TwoLayerNet",
           "cross_entropy_error", "numerical_grad", "softmax"]
