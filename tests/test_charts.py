"""The report's pictures as the pages embed them: drawn from the report's numbers alone, with no words (the
page says what they show in the reader's language), one bar per parameter coloured by the threshold, the
student's run beside the reference's and broken where a step has no value."""

from __future__ import annotations

import re

from service.web import plots

NUMBER = re.compile(r"^-?[0-9.]+(e[+-][0-9]+)?$")


def texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def gradient_report(errors: list[float | None]) -> dict:
    checks = [{"name": name, "measured": {"param": name, "error": error, "threshold": 1e-4}}
              for name, error in zip(("W1", "b1", "W2", "b2"), errors, strict=True)]
    return {"units": {"gradient_check": {"checks": checks}}}


def test_the_gradient_picture_has_a_bar_per_parameter_coloured_by_the_threshold_and_no_words() -> None:
    svg = plots.gradient_drawing(gradient_report([3e-7, 2e-3, None, 5e-8]))
    assert svg.startswith('<svg class="plot" focusable="false" aria-hidden="true"')
    fills = re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})"', svg)
    assert fills == [plots.GOOD, plots.BAD, plots.BAD, plots.GOOD]    # a missing error is a failure
    assert 'stroke-dasharray="5,3"' in svg                              # the threshold
    words = [t for t in texts(svg) if not NUMBER.match(t)]
    assert words == ["W1", "b1", "W2", "b2"]


def test_the_training_picture_shows_both_runs_and_breaks_where_a_step_has_no_value() -> None:
    report = {"training": {"every": 10, "student": {"loss": [2.3, None, 1.1, 0.9], "accuracy": [0.1, 0.3, 0.5, 0.7]},
                           "reference": {"loss": [2.3, 1.5, 1.0, 0.8], "accuracy": [0.1, 0.4, 0.6, 0.8]}}}
    svg = plots.training_drawing(report)
    lines = re.findall(r'<polyline points="([^"]*)" fill="none" stroke="(#[0-9a-f]{6})"([^/]*)/>', svg)
    student = [points for points, colour, _ in lines if colour == plots.YOURS]
    reference = [(points, rest) for points, colour, rest in lines if colour == plots.REFERENCE]
    assert [len(p.split()) for p in student] == [1, 2, 4]               # loss broken at its missing step
    assert len(reference) == 2 and all("dasharray" in rest for _, rest in reference)
    assert all(NUMBER.match(t) for t in texts(svg))
    assert plots.training_drawing({"training": {"student": {"loss": []}}}) is None
