"""What the cnn assignment relies on: the network probes build the network a probe names (class,
parameters, constructor keywords), a numerical gradient of it is stopped, the layers' gradient
checks hold for correct code on every seed and fail its catalogued mistakes, and every mistake it
names is worded in the four languages."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from grader import catalogue, spec
from grader.checks import CheckContext, Verdict
from grader.feedback import check_message
from grader.inputs import generate
from grader.types import Cost, ProbeOutcome
from reference.cnn import NAMESPACE as REFERENCE
from reference.cnn.mutants import MUTANTS
from tests import trusted_runs

CNN = spec.load("cnn")
CONTEXT = CheckContext(heldout=lambda: None, reference=REFERENCE)


def outcome(unit: str, probe: str, namespace: dict, seed: int = 1) -> ProbeOutcome:
    return trusted_runs.outcome(CNN, unit, probe, namespace, seed)


def verdict(unit: str, check: str, got: ProbeOutcome, expected: ProbeOutcome) -> Verdict:
    return trusted_runs.verdict(CNN, unit, check, got, expected, CONTEXT)


def test_the_network_gradient_probe_builds_the_simple_conv_net_it_names_with_the_probes_parameters():
    got = outcome("gradient", "batch", REFERENCE)
    p = CNN.units["gradient"].probes["batch"]
    inputs = generate(1, "gradient", "batch", p.inputs, p.constraint)
    net = REFERENCE["SimpleConvNet"](**p.params["kwargs"])
    for key in p.params["params"]:
        net.params[key][...] = inputs[key]
    direct = net.gradient(inputs["x"], inputs["t"])
    assert set(p.params["params"]) == set(direct) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    for key, value in direct.items():
        assert np.array_equal(got.values[f"grad_{key}"], value), key


def test_a_numerical_gradient_of_the_conv_net_is_stopped_at_its_fifth_forward_pass():
    class Numerical(REFERENCE["SimpleConvNet"]):
        def gradient(self, x, t):
            grads = {}
            for key, param in self.params.items():
                grad = np.zeros_like(param)
                for i in range(param.size):
                    idx = np.unravel_index(i, param.shape)
                    saved = param[idx]
                    param[idx] = saved + 1e-4
                    up = self.loss(x, t)
                    param[idx] = saved - 1e-4
                    grad[idx] = (up - self.loss(x, t)) / 2e-4
                    param[idx] = saved
                grads[key] = grad
            return grads

    got = outcome("gradient", "large", {**REFERENCE, "SimpleConvNet": Numerical})
    assert got.errors["grad_W1"]["stop"]["code"] == "not_backprop"


@pytest.mark.parametrize(("unit", "probe"), [("Convolution", "gradient"), ("Pooling", "gradient"),
                                             ("Pooling", "gradient_overlapping")])
def test_a_layers_backward_agrees_with_its_own_forward_on_every_seed(unit, probe):
    """The spec's claim: correct code reads ~1e-9 relative error or less (Pooling's x spread 100 and
    h 1e-5 keep every window's maximum apart), threshold 1e-6."""
    checks = [c for c in CNN.units[unit].checks if c.probe == probe]
    for seed in range(20):
        expected = outcome(unit, probe, REFERENCE, seed)
        for c in checks:
            v = verdict(unit, c.name, expected, expected)
            assert v.passed and v.facts["rel_error"] < 1e-8, (seed, c.name, v.facts)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_each_catalogued_mistake_fails_a_check_of_its_unit_and_is_worded_in_four_languages(mutant):
    (unit,) = mutant.units
    namespace = {**REFERENCE, **mutant.replaces}
    failed = []
    for c in CNN.units[unit].checks:
        expected = outcome(unit, c.probe, REFERENCE)
        if not verdict(unit, c.name, outcome(unit, c.probe, namespace), expected).passed:
            failed.append(c.name)
    assert failed
    for lang in ("ja", "en", "ko", "zh"):
        assert catalogue.text("diagnoses", mutant.id, lang)


def test_col2im_is_the_adjoint_of_im2col_so_backward_can_hand_dcol_back_as_dx():
    rng = np.random.default_rng(0)
    for shape, fh, fw, stride, pad in [((2, 3, 7, 6), 3, 3, 2, 1), ((1, 2, 5, 5), 2, 3, 1, 2)]:
        x = rng.normal(size=shape)
        col = REFERENCE["im2col"](x, fh, fw, stride, pad)
        c = rng.normal(size=col.shape)
        assert np.isclose(np.sum(col * c), np.sum(x * REFERENCE["col2im"](c, shape, fh, fw, stride, pad)))


@pytest.mark.parametrize(("unit", "check"), [("Convolution", "backward_dx_large"), ("Pooling", "backward_large")])
def test_a_layers_backward_over_its_cpu_budget_fails_whatever_its_values_and_the_gradient_checks_with_it(unit, check):
    """A numerical backward is exact on a linear layer: only its cost, measured outside the sandbox, tells."""
    expected = outcome(unit, "large", REFERENCE)
    costly = replace(outcome(unit, "large", REFERENCE), cost=Cost(2.5, "cpu"))
    v = verdict(unit, check, costly, expected)
    assert not v.passed and v.code == "too_costly_layer"
    assert "2.50" in check_message(v.code, {**v.facts, "call": "Pooling(...)"}, "en")
    assert verdict(unit, check, replace(costly, cost=Cost(0.05, "cpu")), expected).passed
    needing = [c.name for c in CNN.units[unit].checks if c.needs == check]
    assert needing and all(n.startswith("backward") for n in needing)
    gradient_checks = [c for c in CNN.units[unit].checks if c.kind == "gradient_check"]
    assert gradient_checks and all(c.options["cpu_budget"] == 1.0 for c in gradient_checks)
    probe = CNN.units[unit].checks[[c.kind for c in CNN.units[unit].checks].index("gradient_check")].probe
    small = replace(outcome(unit, probe, REFERENCE), cost=Cost(2.5, "cpu"))
    assert verdict(unit, gradient_checks[0].name, small, outcome(unit, probe, REFERENCE)).code == "too_costly_layer"
