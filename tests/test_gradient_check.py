"""The gradient check judges backprop against the student's own loss, on every seed alike.

Trusted-side only (the sandbox adds nothing here): the probe runs on the
reference network and on the catalogued faulty networks of reference/mutants.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from grader import probing
from grader.checks import gradient_check
from reference.mutants import MUTANTS, network_with

ALL = {"W1", "b1", "W2", "b2"}
# the parameters whose check a mistake fails; a forward-pass mistake fails none (charged elsewhere)
FAILS = {
    "affine_dW_transposed": {"W1", "W2"}, "affine_db_wrong_axis": {"b1", "b2"}, "backward_in_forward_order": ALL,
    "cee_index_labels_only": ALL, "cee_no_batch_mean": ALL, "params_and_layers_differ": ALL,
    "relu_mask_inverted": {"W1", "b1"}, "relu_mask_not_applied": {"W1", "b1"}, "relu_mask_not_stored": {"W1", "b1"},
    "softmax_backward_no_batch_division": ALL,
    "layers_wrong_order": set(), "relu_layer_missing": set(), "log_without_delta": set(),
    "cee_one_hot_labels_only": set(), "softmax_no_max_subtraction": set(), "softmax_global_max": set(),
}
SEEDS = range(30)


class Float32Net(network_with()):
    """Correct, with float32 parameters (the layers hold the very same arrays)."""

    def __init__(self, *sizes: int) -> None:
        super().__init__(*sizes)
        for key in ALL:
            self.params[key] = self.params[key].astype(np.float32)
        for n, layer in (("1", self.layers["Affine1"]), ("2", self.layers["Affine2"])):
            layer.W, layer.b = self.params["W" + n], self.params["b" + n]


class ConstantLoss(network_with()):
    """Backprop is right (the layers run forward), but the loss it reports is a constant."""

    def loss(self, x, t):
        super().loss(x, t)
        return 1.0


class NanLoss(network_with()):
    def loss(self, x, t):
        super().loss(x, t)
        return float("nan")


def verdicts(backprop, replaces: dict) -> dict[int, dict[str, tuple[bool, str]]]:
    unit = backprop.units["gradient_check"]
    out = {}
    for seed in SEEDS:
        request = probing.request(unit, "small_net", probing.Definitions({}), backprop, seed)
        expected = probing.trusted_outcome(request, backprop.reference_namespace)
        got = probing.trusted_outcome(request, {**backprop.reference_namespace, **replaces})
        out[seed] = {c.options["param"]: (v.passed, v.code) for c in unit.checks if c.probe == "small_net"
                     for v in [gradient_check(c, unit.probes["small_net"], got, expected, None)]}
    return out


def failing(results: dict[int, dict[str, tuple[bool, str]]]) -> set[frozenset[str]]:
    """The set of failing-parameter sets over all seeds: one element when the verdict is seed-independent."""
    return {frozenset(p for p, (passed, _) in params.items() if not passed) for params in results.values()}


@pytest.mark.parametrize("net", [None, Float32Net], ids=["reference", "float32 parameters"])
def test_correct_backprop_passes_on_every_seed(net, backprop):
    assert failing(verdicts(backprop, {"TwoLayerNet": net} if net else {})) == {frozenset()}


@pytest.mark.parametrize("mutant", sorted({m.id for m in MUTANTS if "gradient_check" in m.units}))
def test_each_mistake_fails_the_same_parameters_on_every_seed(mutant, backprop):
    network = next(m for m in MUTANTS if m.id == mutant and "gradient_check" in m.units)
    assert failing(verdicts(backprop, network.replaces)) == {frozenset(FAILS[mutant])}


@pytest.mark.parametrize(("net", "code"), [(ConstantLoss, "loss_independent"), (NanLoss, "loss_not_finite")])
def test_a_degenerate_loss_fails_whatever_backprop_says(net, code, backprop):
    results = verdicts(backprop, {"TwoLayerNet": net})
    assert {v for params in results.values() for v in params.values()} == {(False, code)}
