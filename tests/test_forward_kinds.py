"""What the forward assignment added to the registries, as its probes and checks rely on it: a call on a
batch and on its rows alone, arguments that are a dict of the grader's arrays or rows of a data file,
whole-number inputs, and the grader's own MNIST network (fitted once, mounted, never the test split)."""

from __future__ import annotations

import numpy as np

from grader import data, probing, spec
from grader.checks import CHECK_KINDS, CheckContext
from grader.inputs import generate
from grader.inside.probes import run_probe
from grader.types import CheckSpec, ProbeOutcome, ProbeRequest, ProbeSpec


def book_softmax(a):
    """Chapter 3's softmax: one max and one sum over every element (right for one row only)."""
    exp_a = np.exp(a - np.max(a))
    return exp_a / np.sum(exp_a)


def row_softmax(a):
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def outcome(fn, x) -> ProbeOutcome:
    request = ProbeRequest("batch", "batch_and_rows", {"target": "softmax", "args": ["x"], "batch": "x"}, {"x": x})
    return probing.trusted_outcome(request, {"softmax": fn})


def same_as(got: ProbeOutcome):
    check = CheckSpec("batch_equals_rows", "same_as", "batch", "out", 1.0, {"like": "out_rows"})
    probe = ProbeSpec("batch", "batch_and_rows", {}, {})
    return CHECK_KINDS["same_as"](check, probe, got, None, CheckContext(heldout=lambda: None, reference={}))


def test_a_batch_computed_over_all_its_elements_differs_from_its_rows_and_a_row_wise_one_does_not():
    x = np.random.default_rng(0).normal(size=(4, 6))
    book = same_as(outcome(book_softmax, x))
    assert not book.passed and book.code == "batch_differs" and book.facts["rows"] == 4
    assert np.allclose(outcome(book_softmax, x).values["out_rows"], row_softmax(x))   # right row by row
    assert same_as(outcome(row_softmax, x)).passed


def test_a_call_gets_the_network_as_a_dict_and_only_the_rows_drawn_for_it():
    rng = np.random.default_rng(1)
    inputs = {"x": rng.normal(size=(40, 3)), "rows": np.array([0.0, 0.5, 0.99]), "W": rng.normal(size=(3, 2))}
    params = {"target": "f", "args": ["net", "x"], "dicts": {"net": ["W"]}, "take": ["x"], "rows": "rows"}
    seen = {}

    def f(net, x):
        seen.update(net=net, x=x)
        x[...] = 0   # student code may write into what it gets: the probe's inputs stay as drawn
        return x @ net["W"]

    rec = run_probe({"f": f}, "call", inputs, params)
    assert rec.errors == {} and set(seen["net"]) == {"W"} and seen["x"].shape == (3, 3)
    assert np.array_equal(rec.outputs["out"], np.zeros((3, 2)))
    assert inputs["x"][20].any() and np.array_equal(seen["net"]["W"], inputs["W"])


def test_whole_number_inputs_hold_the_values_asked_for_in_the_dtype_asked_for():
    for seed in range(20):
        drawn = generate(seed, "u", "p", {"x": {"gen": "integers", "low": -3, "high": 3, "shape": [12], "include": [0]},
                                          "r": {"gen": "uniform", "shape": [50], "low": 0.75}})
        assert drawn["x"].dtype == np.int64 and 0 in drawn["x"] and drawn["x"].min() >= -3
        assert drawn["r"].min() >= 0.75 and drawn["r"].max() < 1


def test_the_graders_network_predicts_the_images_it_was_not_fitted_on(settings):
    forward = spec.load("forward")
    files = data.sandbox_files(forward, settings)
    network = {name: np.load(files[f"mnist_network_{name}"]) for name in data.NETWORK_NAMES}
    assert [network[f"W{i}"].shape for i in (1, 2, 3)] == [(784, 50), (50, 100), (100, 10)]
    x, t = np.load(files["mnist_train_x"]), np.load(files["mnist_train_t"])
    unseen = slice(data.FIT_ROWS, None)
    accuracy = forward.reference_namespace["accuracy"](network, x[unseen], t[unseen])
    assert 0.8 < accuracy < 0.95
    test_split = {p.name for p in data.train_files(settings)["x_train"].parent.glob("*_test.npy")}
    assert test_split and not test_split & {p.name for p in files.values()}
