"""What the learning assignment added to the registries, as its probes and checks rely on it: update()
step after step on the grader's gradients, seeded draws judged by their statistics, and a layer's
backward against the numerical gradient of its own forward."""

from __future__ import annotations

import numpy as np
import pytest

from grader import spec
from grader.checks import CHECK_KINDS, CheckContext, Verdict
from grader.inputs import generate
from grader.types import CheckSpec, ProbeOutcome, ProbeSpec
from reference.learning import NAMESPACE as REFERENCE
from reference.learning.mutants import MUTANTS
from tests import trusted_runs

LEARNING = spec.load("learning")
CONTEXT = CheckContext(heldout=lambda: None, reference={})


def outcome(unit: str, probe: str, namespace: dict, seed: int = 1) -> ProbeOutcome:
    return trusted_runs.outcome(LEARNING, unit, probe, namespace, seed)


def verdict(unit: str, check: str, got: ProbeOutcome, expected: ProbeOutcome) -> Verdict:
    return trusted_runs.verdict(LEARNING, unit, check, got, expected, CONTEXT)


def mutant(mid: str, unit: str) -> dict:
    return {**REFERENCE, **next(m.replaces for m in MUTANTS if m.id == mid and unit in m.units)}


def test_an_optimizer_that_forgets_its_state_is_right_at_the_first_step_and_wrong_from_the_second():
    expected = outcome("Momentum", "bowl", REFERENCE)
    forgets = outcome("Momentum", "bowl", mutant("optimizer_state_reset", "Momentum"))
    assert np.allclose(forgets.values["trail"][0], expected.values["trail"][0])
    v = verdict("Momentum", "steps", forgets, expected)
    assert not v.passed and v.code == "step_mismatch" and v.facts["step"] == 2 and v.facts["steps"] == 6
    assert verdict("Momentum", "steps", expected, expected).passed


def test_new_arrays_in_params_keep_the_trajectory_but_leave_the_arrays_handed_in_unchanged():
    class Rebinds(REFERENCE["SGD"]):
        def update(self, params, grads):
            for key in params:
                params[key] = params[key] - self.lr * grads[key]

    expected = outcome("SGD", "network", REFERENCE)
    rebinds = outcome("SGD", "network", {"SGD": Rebinds})
    assert verdict("SGD", "network_steps_defaults", rebinds, expected).passed
    v = verdict("SGD", "updates_arrays_in_place", rebinds, expected)
    assert not v.passed and v.code == "arrays_not_updated"
    assert verdict("SGD", "updates_arrays_in_place", expected, expected).passed
    wrong_rule = outcome("SGD", "network", mutant("optimizer_ascends", "SGD"))   # in place, only wrong
    assert verdict("SGD", "updates_arrays_in_place", wrong_rule, expected).passed


@pytest.mark.parametrize("probe", ["std_001", "xavier", "sigmoid", "he", "relu"])
def test_a_correct_initialisation_drawn_otherwise_passes_on_every_seed_and_a_wrong_scale_fails(probe):
    """The spec's claim: std_rtol and mean_atol of 5 % are 10 and more standard errors of two
    independent draws (another draw order), and far below a wrong scale."""
    check = next(c.name for c in LEARNING.units["init_weight"].checks if c.probe == probe)

    def other_draw(node_in, node_out, weight_init_std=0.01):   # other numbers of the same distribution
        return np.random.normal(0.0, _scale(node_in, weight_init_std), size=(node_in, node_out))

    for seed in range(20):
        expected = outcome("init_weight", probe, REFERENCE, seed)
        other = outcome("init_weight", probe, {"init_weight": other_draw}, seed + 1000)
        assert verdict("init_weight", check, other, expected).passed, seed
    if probe != "std_001":
        for mid in ("init_fan_out", "init_variance_as_std", "init_uniform"):
            wrong = outcome("init_weight", probe, mutant(mid, "init_weight"))
            assert not verdict("init_weight", check, wrong, outcome("init_weight", probe, REFERENCE)).passed, mid


def _scale(node_in: int, weight_init_std: float | str) -> float:
    return {"xavier": np.sqrt(1 / node_in), "sigmoid": np.sqrt(1 / node_in), "he": np.sqrt(2 / node_in),
            "relu": np.sqrt(2 / node_in)}.get(weight_init_std, weight_init_std)


def test_draws_are_seeded_so_a_regrade_and_a_mutant_drawing_alike_see_the_same_numbers():
    once, again = outcome("init_weight", "he", REFERENCE), outcome("init_weight", "he", REFERENCE)
    assert np.array_equal(once.values["out"], again.values["out"]) and once.values["out"].shape == (2, 100, 400)
    assert not np.array_equal(once.values["out"], outcome("init_weight", "he", REFERENCE, seed=2).values["out"])


def test_a_dropout_backward_that_draws_its_own_mask_is_caught_whatever_the_random_numbers():
    class NewMask(REFERENCE["Dropout"]):
        def backward(self, dout):
            return dout * (np.random.rand(*dout.shape) > self.dropout_ratio)

    check = CheckSpec("backward_same_mask", "same_as", "values", "dx", 1.0, {"like": "out", "rtol": 0.0, "atol": 0.0})
    probe = ProbeSpec("values", "layer", {}, {})
    assert CHECK_KINDS["same_as"](check, probe, outcome("Dropout", "values", REFERENCE), None, CONTEXT).passed
    got = outcome("Dropout", "values", {"Dropout": NewMask})
    assert not CHECK_KINDS["same_as"](check, probe, got, None, CONTEXT).passed


@pytest.mark.parametrize("probe", ["gradient", "gradient_tensor"])
def test_batch_normalization_backward_agrees_with_its_own_forward_and_a_missing_path_does_not(probe):
    """The spec's claim: correct code reads ~1e-9 relative error or less, a backward without the
    mean's or the variance's path 1e-2 and more (threshold 1e-6), over seeds."""
    checks = [c for c in LEARNING.units["BatchNormalization"].checks if c.probe == probe]
    for seed in range(10):
        expected = outcome("BatchNormalization", probe, REFERENCE, seed)
        for c in checks:
            v = verdict("BatchNormalization", c.name, expected, expected)
            assert v.passed and v.facts["rel_error"] < 1e-8, (seed, c.name, v.facts)
        for mid in ("batchnorm_backward_without_mean", "batchnorm_backward_without_variance"):
            got = outcome("BatchNormalization", probe, mutant(mid, "BatchNormalization"), seed)
            name = "gradient_check_x_tensor" if probe == "gradient_tensor" else "gradient_check_x"
            v = verdict("BatchNormalization", name, got, expected)
            assert not v.passed and v.facts["rel_error"] > 1e-2, (seed, mid, v.facts)


def _checks_failed(unit: str, namespace: dict, seed: int = 1) -> set[str]:
    """The unit's checks a network (the reference's MultiLayerNet replaced) fails, over all its probes."""
    spec_ = LEARNING.units[unit]
    failed = set()
    for probe in spec_.probes:
        expected, got = outcome(unit, probe, REFERENCE, seed), outcome(unit, probe, namespace, seed)
        failed |= {c.name for c in spec_.checks if c.probe == probe and not verdict(unit, c.name, got, expected).passed}
    return failed


def test_a_weight_decay_left_out_of_the_gradient_or_the_loss_costs_only_the_checks_with_decay():
    """lambda = 0 and lambda > 0 are judged apart, and the gradient check runs at lambda = 0, so each
    mistake shows in its own unit, on the W's only (a b carries no decay)."""
    for seed in range(3):
        assert not _checks_failed("MultiLayerNet", REFERENCE, seed)
        assert not _checks_failed("MultiLayerNet_gradient", REFERENCE, seed)
        gradient = mutant("weight_decay_missing_from_gradient", "MultiLayerNet_gradient")
        assert _checks_failed("MultiLayerNet_gradient", gradient, seed) == {
            *(f"W{i}_weight_decay" for i in range(1, 4)), *(f"W{i}_three_hidden_layers" for i in range(1, 5))}
        assert not _checks_failed("MultiLayerNet", gradient, seed)
        loss = mutant("weight_decay_missing_from_loss", "MultiLayerNet")
        assert _checks_failed("MultiLayerNet", loss, seed) == {"loss_weight_decay", "loss_three_hidden_layers"}
        assert not _checks_failed("MultiLayerNet_gradient", loss, seed)


def test_a_numerical_gradient_of_the_multi_layer_net_earns_nothing():
    """The backprop-cost rule of the backprop assignment, reused: the harness stops a gradient() that
    runs the network forward more than four times, and every check needs its `*_large` twin."""
    class Numerical(REFERENCE["MultiLayerNet"]):
        def gradient(self, x, t):
            return {key: REFERENCE["numerical_grad"](lambda _w: self.loss(x, t), value)
                    for key, value in self.params.items()}

    got = outcome("MultiLayerNet_gradient", "no_decay", {**REFERENCE, "MultiLayerNet": Numerical})
    assert got.errors["grad_W1"]["stop"]["code"] == "not_backprop"
    checks = {c.name for c in LEARNING.units["MultiLayerNet_gradient"].checks}
    assert _checks_failed("MultiLayerNet_gradient", {**REFERENCE, "MultiLayerNet": Numerical}) == checks


def test_a_network_that_loses_a_hidden_layer_is_told_which_parameter_has_which_shape():
    class FirstHiddenOnly(REFERENCE["MultiLayerNet"]):
        def __init__(self, input_size, hidden_size_list, output_size, **kwargs):
            super().__init__(input_size, hidden_size_list[:1], output_size, **kwargs)

    got = outcome("MultiLayerNet", "three_hidden_layers", {**REFERENCE, "MultiLayerNet": FirstHiddenOnly})
    stop = got.errors["predict"]["stop"]
    assert stop["code"] == "shape_mismatch" and stop["facts"]["array"] == "params['W2']", stop
    assert tuple(stop["facts"]["got_shape"]) == (6, 3) and tuple(stop["facts"]["expected_shape"]) == (6, 5)


def test_every_layer_of_a_deeper_network_is_drawn_away_from_the_relu_kinks():
    """relu_margin over W1..Wn: each hidden pre-activation has both signs per unit and none within
    2e-3 of 0, where a finite difference across a kink would lie."""
    p = LEARNING.units["MultiLayerNet_gradient"].probes["three_hidden_layers"]
    for seed in range(5):
        drawn = generate(seed, "MultiLayerNet_gradient", "three_hidden_layers", p.inputs, p.constraint)
        z = drawn["x"]
        for i in range(1, 5):
            z = (np.maximum(z, 0) if i > 1 else z) @ drawn[f"W{i}"] + drawn[f"b{i}"]
            assert np.min(np.abs(z)) > 2e-3
            if i < 4:
                assert np.all((z > 0).any(axis=0)) and np.all((z < 0).any(axis=0))
