"""The instructor's reference implementation of the learning assignment (ch. 6: optimizers, weight
initialisation, Dropout, Batch Normalization).

Trusted code, like the rest of reference/: it runs only in the grader's own process; the few
definitions a unit's substituted variant needs are sent into the sandbox by name, as compiled code.
"""

from reference.learning.layers import BatchNormalization, Dropout
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
}

__all__ = ["NAMESPACE", "SGD", "AdaGrad", "Adam", "BatchNormalization", "Dropout", "Momentum", "Nesterov",
           "RMSprop", "init_weight"]
