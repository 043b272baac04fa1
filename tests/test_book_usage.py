"""Functions are used the way the book uses them, every expected value follows the seed, and
accuracy follows the student's own backprop (checked on the trusted side)."""

from __future__ import annotations

import numpy as np
import pytest

from grader import pipeline, probing
from grader.types import FileInput
from tests.notebooks import notebook_bytes
from tests.variants import CEE_LOG, LAYER_LOOP, changed

# one sample whose true class has probability 0: -log(1e-7) on every seed, the edge case itself
CONSTANT_BY_DESIGN = {("cross_entropy_error", "zero_probability_one_hot_1d"),
                      ("cross_entropy_error", "zero_probability_index_1d")}


def test_every_expected_value_changes_with_the_seed(backprop):
    """A probe whose expected value were the same on every seed could be answered by a lookup."""
    defs = probing.Definitions({})
    for unit in backprop.units.values():
        for name, probe in unit.probes.items():
            if probe.params.get("fixed_inputs") or (unit.name, name) in CONSTANT_BY_DESIGN:
                continue
            outcomes = [probing.reference_outcome(probing.request(unit, name, defs, backprop, seed), backprop)
                        for seed in (1, 2)]
            for output, value in outcomes[0].values.items():
                if output.startswith(("step_", "coords_", "ran_forward")):  # the grader's own perturbation or
                    # observation of how the code ran, not an answer
                    continue
                other = outcomes[1].values[output]
                assert np.shape(value) != np.shape(other) or not np.allclose(value, other), (unit.name, name, output)


def test_training_inputs_come_from_the_grader_and_not_from_the_submission_seed(backprop, settings):
    unit = backprop.units["accuracy"]
    drawn = [probing.request(unit, "mnist", probing.Definitions({}), backprop, seed, fixed_seed=7) for seed in (1, 2)]
    assert "seed" not in drawn[0].params
    for key, value in drawn[0].inputs.items():
        assert isinstance(value, FileInput) or np.array_equal(value, drawn[1].inputs[key])


def test_correct_code_in_every_other_style_at_once_stays_on_the_reference_trajectory(settings, backprop):
    cells = changed(
        (CEE_LOG, "np.log(np.maximum(y[np.arange(n), t], 1e-7))"),
        ("        self.mask = (x <= 0)\n        out = x.copy()\n        out[self.mask] = 0\n        return out\n",
         "        self.mask = x > 0\n        return x * self.mask\n"),
        ("        dx = dout.copy()\n        dx[self.mask] = 0\n        return dx\n",
         "        return dout * self.mask\n"),
        ("return np.dot(self.x, self.W) + self.b", "return self.x @ self.W + self.b"),
        ("self.dW = np.dot(self.x.T, dout)", "self.dW = self.x.T @ dout"),
        (LAYER_LOOP, "        layers = list(self.layers.values())\n        layers.reverse()\n"
                     "        for layer in layers:\n            dout = layer.backward(dout)\n"),
        ("            dx = (self.y - self.t) / batch_size\n",
         "            dx = (self.y - self.t) * (1.0 / batch_size)\n"),
    )
    report = pipeline.grade_bytes(notebook_bytes(*cells), "styles.ipynb", backprop, settings, seed=5, lang="en")
    assert report.score == report.max_score, [c.message for u in report.units.values() for c in u.checks
                                              if not c.passed]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_set_up_statements_are_reported_as_run(settings, backprop, lang):
    cells = changed(('self.params["W1"] = weight_init_std * np.random.randn(input_size, hidden_size)',
                     'self.params["W1"] = weight_init_std * rng.standard_normal((input_size, hidden_size))'))
    blob = notebook_bytes("import numpy as np\nrng = np.random.default_rng(2024)\n", *cells,
                          "for step in range(3):\n    pass\n")
    report = pipeline.grade_bytes(blob, "setup.ipynb", backprop, settings, seed=5, lang=lang)
    assert report.units["gradient"].score == report.units["gradient"].max_score
    ran = [n for n in report.notes if "rng = np.random.default_rng(2024)" in n]
    assert len(ran) == 1 and ("run" in ran[0] if lang == "en" else "実行しました" in ran[0])
    assert any("for step in range(3):" in n for n in report.notes)
