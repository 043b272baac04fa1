"""The instructor's reference implementation of the learning assignment (ch. 6: optimizers, weight
initialisation, Dropout, Batch Normalization, a multi-layer network with weight decay).

Trusted code, like the rest of reference/: it runs only in the grader's own process; the few
definitions a unit's substituted variant needs are sent into the sandbox by name, as compiled code.
"""

from reference.functions import cross_entropy_error, numerical_grad, softmax
from reference.layers import Affine, Relu, SoftmaxWithLoss
from reference.learning.layers import BatchNormalization, Dropout
from reference.learning.network import MultiLayerNet, Sigmoid
from reference.learning.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from reference.learning.weights import init_weight

NAMESPACE: dict[str, object] = {
    "SGD": SGD,
    "Momentum": Momentum,
    "Nesterov": Nesterov,
    "AdaGrad": AdaGrad,
    "RMSprop": RMSprop,
    "Adam": Adam,
    "init_weight": init_weight,
    "Dropout": Dropout,
    "BatchNormalization": BatchNormalization,
    "MultiLayerNet": MultiLayerNet,
    # what MultiLayerNet is built of (the template hands them out): their modules join the program
    # the derived mutants edit (grader.diagnoses.derived), so MultiLayerNet's mutants run on them
    "Affine": Affine,
    "Relu": Relu,
    "Sigmoid": Sigmoid,
    "SoftmaxWithLoss": SoftmaxWithLoss,
    "softmax": softmax,
    "cross_entropy_error": cross_entropy_error,
    "numerical_grad": numerical_grad,
}

__all__ = ["NAMESPACE", "SGD", "AdaGrad", "Adam", "BatchNormalization", "Dropout", "Momentum", "MultiLayerNet",
           "Nesterov", "RMSprop", "init_weight"]
