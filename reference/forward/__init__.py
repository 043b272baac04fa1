"""The instructor's reference implementation of the forward assignment (ch. 3: activations, softmax,
a three-layer network's forward pass, batch prediction and accuracy).

Trusted code, like the rest of reference/: it runs only in the grader's own process; the few
definitions a unit's substituted variant needs are sent into the sandbox by name, as compiled code.
"""

from reference.forward.functions import identity_function, relu, sigmoid, softmax, step_function
from reference.forward.network import accuracy, forward, predict

NAMESPACE: dict[str, object] = {
    "step_function": step_function,
    "sigmoid": sigmoid,
    "relu": relu,
    "identity_function": identity_function,
    "softmax": softmax,
    "forward": forward,
    "predict": predict,
    "accuracy": accuracy,
}

__all__ = ["NAMESPACE", "accuracy", "forward", "identity_function", "predict", "relu", "sigmoid", "softmax",
           "step_function"]
