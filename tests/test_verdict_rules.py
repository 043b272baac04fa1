"""The rules a verdict follows, each through the real sandbox on a mutated correct notebook: the
notebook runs as Jupyter runs it, every form the template allows is probed, and a value only the
grader's own harness could not use is reported as that, not as the student's crash."""

from __future__ import annotations

from grader import pipeline
from tests.notebooks import notebook_bytes, solution_cells


def grade(cells: list[str], settings, backprop, seed: int = 21):
    return pipeline.grade_bytes(notebook_bytes(*cells), "rule.ipynb", backprop, settings, seed=seed, lang="en")


def scores(report) -> dict[str, str]:
    """Each unit's verdict: full, partial or zero."""
    return {u: "full" if r.score == r.max_score else "zero" if r.score == 0 else "partial"
            for u, r in report.units.items()}


def test_a_future_import_holds_for_every_later_statement_as_in_jupyter(settings, backprop):
    """`from __future__ import annotations` in the first cell: the network's class body (its cell
    before the layers', as Jupyter allows) annotates names defined later, which Python then never
    evaluates; a statement compiled without the flags would fail on them."""
    imports, functions, grad, layers, net = solution_cells()
    net = net.replace("class TwoLayerNet:\n", "class TwoLayerNet:\n    lastLayer: SoftmaxWithLoss\n"
                                              "    layers: OrderedDict[str, Affine | Relu]\n\n")
    report = grade(["from __future__ import annotations\n" + imports, net, functions, grad, layers],
                   settings, backprop)
    assert set(scores(report).values()) == {"full"}, scores(report)
