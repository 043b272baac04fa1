"""Points for `gradient` and `gradient_check` follow backpropagation, judged by evidence student code
cannot edit: on a network of 41,110 parameters the unit run's cost, measured by the grader outside
the sandbox (its cgroup's CPU time; the wall clock where there is none). A numerical gradient of
any precision, in float64 or float32, numerical only where the network is small, or one that
silences the harness's own stop and clock, earns nothing there; real backprop loses nothing.
"""

from __future__ import annotations

import os

import pytest

from grader import pipeline
from tests.notebooks import notebook_bytes, solution_cells

GRADIENT_HEAD = "    def gradient(self, x, t):\n"
# the layers run by hand: no call of self.loss or self.predict for the harness to count
FIVE_POINT = GRADIENT_HEAD + """        def loss_now():
            out = x
            for layer in self.layers.values():
                out = layer.forward(out)
            return self.lastLayer.forward(out, t)
        grads = {}
        for key in ("W1", "b1", "W2", "b2"):
            p = self.params[key]
            g = np.zeros_like(p)
            h = 1e-3 if p.dtype == np.float64 else 1e-2
            for i in np.ndindex(p.shape):
                v = p[i]
                f = []
                for k in (2, 1, -1, -2):
                    p[i] = v + k * h
                    f.append(loss_now())
                p[i] = v
                g[i] = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h)
            grads[key] = g
        return grads

    def backprop_unused(self, x, t):
"""
# too slow to fake where the network is large: give up there
SMALL_ONLY = FIVE_POINT.replace(GRADIENT_HEAD, GRADIENT_HEAD + """        if self.params["W1"].size > 1000:
            return {k: np.zeros_like(v) for k, v in self.params.items()}
""")
FLOAT32 = ('self.params["b2"] = np.zeros(output_size)\n',
           'self.params["b2"] = np.zeros(output_size)\n'
           '        self.params = {k: v.astype(np.float32) for k, v in self.params.items()}\n')
# backprop, but first 1.5 s of CPU on the large probe's network, with the harness's stop
# silenced and its clock stopped: only the grader's own measurement can see the cost
CLOCK_TAMPERED = GRADIENT_HEAD + """        if self.params["W1"].shape == (400, 100):
            import signal, time
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            start = time.process_time()
            while time.process_time() - start < 1.5:
                pass
            time.monotonic = lambda: 0.0
"""


def cells_with(*swaps: tuple[str, str]) -> list[str]:
    cells = solution_cells()
    for old, new in swaps:
        assert sum(c.count(old) for c in cells) == 1, old
        cells = [c.replace(old, new) for c in cells]
    return cells


def grade(cells: list[str], settings, backprop):
    return pipeline.grade_bytes(notebook_bytes(*cells), "cost.ipynb", backprop, settings, seed=5, lang="en")


@pytest.mark.parametrize("name, cells", [
    ("five-point stencil", cells_with((GRADIENT_HEAD, FIVE_POINT))),
    ("central difference in float32", cells_with(FLOAT32, (GRADIENT_HEAD, FIVE_POINT.replace(
        "for k in (2, 1, -1, -2)", "for k in (1, -1)").replace(
        "(-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h)", "(f[0] - f[1]) / (2 * h)")))),
    ("numerical only where the network is small", cells_with((GRADIENT_HEAD, SMALL_ONLY))),
])
def test_a_numerical_gradient_earns_nothing_in_gradient_and_gradient_check(name, cells, settings, backprop):
    report = grade(cells, settings, backprop)
    for unit in ("gradient", "gradient_check"):
        assert report.units[unit].score == 0, [(c.name, c.message) for c in report.units[unit].checks if c.passed]
        large = [c for c in report.units[unit].checks if c.name.endswith("_large")]
        assert large and not any(c.passed for c in large)
    large = next(c for c in report.units["gradient"].checks if c.name == "W1_large" and c.variant == "own")
    if name.startswith("numerical only"):  # zeros where it is large: not backprop, nor its own loss's gradient
        assert "grads['W1']" in large.message and "wrong" in large.message, large.message
        check = next(c for c in report.units["gradient_check"].checks if c.name == "W1_large")
        assert "numerical gradient of your own loss for W1 is 1, above" in check.message, check.message
    else:
        assert "took over 1 s on a network with 41110 parameters" in large.message, large.message
    assert report.units["Affine"].score == report.units["Affine"].max_score


def test_cost_is_measured_by_the_grader_not_by_the_harness(settings, backprop):
    """Right values, but 1.5 s of CPU per call with the harness's alarm ignored and its clock
    frozen: the grader's own measurement fails the large checks, and the small network's checks,
    though right, are not credited without them."""
    report = grade(cells_with((GRADIENT_HEAD, CLOCK_TAMPERED)), settings, backprop)
    gradient = report.units["gradient"]
    assert gradient.score == 0
    by_name = {(c.name, c.variant): c for c in gradient.checks}
    large = by_name[("W1_large", "own")]
    assert "parameters (allowed: 1 s)" in large.message, large.message
    if os.geteuid() == 0:  # the sandbox has a cgroup that counts its CPU time
        assert "s of CPU time" in large.message, large.message
    small = by_name[("W1", "own")]
    assert small.message.startswith("not credited: correct here, but the same gradient() on a larger network"), \
        small.message
    assert report.units["gradient_check"].score == 0
    assert report.units["accuracy"].score == report.units["accuracy"].max_score

