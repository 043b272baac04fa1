"""The instructor's reference implementation of the cnn assignment (ch. 7: im2col and col2im,
Convolution and Pooling, a SimpleConvNet's gradient and its training).

Trusted code, like the rest of reference/: it runs only in the grader's own process; the few
definitions a unit's substituted variant needs are sent into the sandbox by name, as compiled code.
The chapter-5 layers the network is built of are the backprop assignment's.
"""

from reference.cnn.layers import Convolution, Pooling
from reference.cnn.simple_conv_net import SimpleConvNet
from reference.cnn.util import col2im, im2col
from reference.functions import cross_entropy_error, softmax
from reference.layers import Affine, Relu, SoftmaxWithLoss

NAMESPACE: dict[str, object] = {
    "im2col": im2col,
    "col2im": col2im,
    "Convolution": Convolution,
    "Pooling": Pooling,
    "softmax": softmax,
    "cross_entropy_error": cross_entropy_error,
    "Relu": Relu,
    "Affine": Affine,
    "SoftmaxWithLoss": SoftmaxWithLoss,
    "SimpleConvNet": SimpleConvNet,
}

__all__ = ["NAMESPACE", "Affine", "Convolution", "Pooling", "Relu", "SimpleConvNet", "SoftmaxWithLoss", "col2im",
           "cross_entropy_error", "im2col", "softmax"]
