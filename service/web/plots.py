"""Plots: server-side SVG pictures, each with its text alternative.

A report's pictures (DRAWINGS: kind -> (drawing, its words)) carry no words, only numbers on their
axes: each is drawn once per report for every language (service/web/prepared.py), by hand
(service/web/charts.py: the worker draws them after every grading), and its title, legend and text
alternative are the page's, in the reader's language. The class histogram is drawn with matplotlib
(Agg, text kept as text: `svg.fonttype = none`; the object API, no pyplot state).
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.web import charts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

YOURS, REFERENCE, BAD, GOOD = "#1f5fa8", "#8a8a8a", "#b3261e", "#2e7d32"


@dataclass(frozen=True)
class Plot:
    svg: str            # an inline <svg> element (no XML prolog)
    alt: str            # one-sentence summary for aria-label
    details: list[str]  # the numbers behind the picture, one line each


@dataclass(frozen=True)
class Caption:
    """What a report's picture shows, in the reader's language (the picture itself has no words)."""

    alt: str
    details: list[str]
    legend: list[tuple[str, str]]   # (key, text): what each line, colour or panel means


@functools.cache
def _figure_class() -> type[Figure]:
    """matplotlib, imported the first time a histogram is drawn: only the class page draws one, and
    the import cost every API and worker process ~0.35 s at its start."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "nn-grader", "font.size": 10})
    from matplotlib.figure import Figure

    return Figure


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs the layout font lacks (CJK) are the browser's job
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r"<svg ", '<svg class="plot" focusable="false" aria-hidden="true" ', text, count=1)


def _gradient_facts(report: dict) -> tuple[list[str], list[float | None], float | None] | None:
    """(parameter names, their mean |backprop − numerical| or None, the threshold) of the gradient check."""
    unit = (report.get("units") or {}).get("gradient_check")
    checks = [c for c in (unit or {}).get("checks", []) if c.get("measured")]
    if not checks:
        return None
    measured = [c["measured"] for c in checks]
    params = [c.get("name") or m["param"] for c, m in zip(checks, measured, strict=True)]  # W1, W1_large
    return params, [m["error"] if _finite(m.get("error")) else None for m in measured], measured[0].get("threshold")


def gradient_drawing(report: dict) -> str | None:
    """Bars of mean |backprop − numerical| per parameter, log scale, the threshold dashed. No words: the
    picture is drawn once per report for every language (`gradient_text` says it)."""
    facts = _gradient_facts(report)
    if facts is None:
        return None
    params, errors, threshold = facts
    shown = [max(e, 1e-16) if e is not None else 1e-16 for e in errors]
    low = 10 ** math.floor(math.log10(min(min(shown), threshold or 1) / 10))
    high = 10 ** math.ceil(math.log10(max(max(shown), threshold or 1) * 10))
    panel = charts.Panel(52, 8, 400, 160, (0, len(params)), (low, high), log=True)
    decades = range(round(math.log10(low)), round(math.log10(high)) + 1)
    step = max(1, math.ceil(len(decades) / 7))
    parts = charts.axes(panel, [(panel.x(i + 0.5), p) for i, p in enumerate(params)],
                        [10.0 ** e for e in decades[::step]])
    parts += charts.bars(panel, shown, [BAD if e is None or (threshold and e >= threshold) else GOOD for e in errors])
    if threshold:
        parts += charts.line(panel, [(0, threshold), (len(params), threshold)], "black", dashed=True)
    return charts.svg(470, 200, parts)


def gradient_text(report: dict, t: Callable[..., str]) -> Caption | None:
    """The gradient check's picture in words, in the reader's language."""
    facts = _gradient_facts(report)
    if facts is None:
        return None
    params, errors, threshold = facts
    details = []
    for param, error in zip(params, errors, strict=True):
        if error is None:
            details.append(t("plot_gradient_missing", param=param))
        else:
            verdict = t("below_threshold") if threshold is None or error < threshold else t("above_threshold")
            details.append(t("plot_gradient_alt", param=param, error=error, verdict=verdict))
    bound = t("plot_gradient_threshold", threshold=threshold or 0)
    legend = [("good", t("below_threshold")), ("bad", t("above_threshold")), ("threshold", bound)]
    return Caption(f"{t('plot_gradient_title')} ({bound}): " + "; ".join(details), details, legend)


def training_drawing(report: dict) -> str | None:
    """Loss and batch accuracy per step, the student's run (solid) beside the reference's (dashed) on the
    same batches. No words (`training_text` says it)."""
    run = report.get("training")
    if not run or not run.get("student", {}).get("loss"):
        return None
    every = int(run.get("every") or 1)
    runs = {who: run.get(who) or {} for who in ("student", "reference")}
    parts: list[str] = []
    for i, key in enumerate(("loss", "accuracy")):
        series = {who: [math.nan if v is None else float(v) for v in r.get(key) or []] for who, r in runs.items()}
        finite = [v for values in series.values() for v in values if math.isfinite(v)] or [0.0, 1.0]
        y_range = (0.0, 1.0) if key == "accuracy" else _padded(min(finite), max(finite))
        last_step = max(every * (max(len(v) for v in series.values()) - 1), 1)
        panel = charts.Panel(50 + i * 330, 8, 270, 170, (0, last_step), y_range)
        x_ticks = [(panel.x(x), charts.label(x)) for x in charts.nice_ticks(0, last_step, 4)]
        parts += charts.axes(panel, x_ticks, charts.nice_ticks(*y_range))
        for who, colour, dashed in (("student", YOURS, False), ("reference", REFERENCE, True)):
            parts += charts.line(panel, ((n * every, v) for n, v in enumerate(series[who])), colour, dashed)
    return charts.svg(660, 210, parts)


def _padded(low: float, high: float) -> tuple[float, float]:
    """A loss axis's range: the values' own, with a little room (and some height when they are all equal)."""
    pad = (high - low) * 0.05 or max(abs(high) * 0.1, 0.1)
    return low - pad, high + pad


def training_text(report: dict, t: Callable[..., str]) -> Caption | None:
    """The training picture in words: first and last loss and last accuracy of both runs."""
    run = report.get("training")
    if not run or not run.get("student", {}).get("loss"):
        return None
    student, reference = run["student"], run.get("reference") or {}
    facts = {"s_first": _num(_first(student.get("loss"))), "s_last": _num(_last(student.get("loss"))),
             "r_first": _num(_first(reference.get("loss"))), "r_last": _num(_last(reference.get("loss"))),
             "s_acc": _num(_last(student.get("accuracy"))), "r_acc": _num(_last(reference.get("accuracy"))),
             "steps": len(student["loss"]) * int(run.get("every") or 1)}
    alt = t("plot_training_alt", **facts)
    legend = [("yours", t("plot_yours")), ("reference", t("plot_reference")),
              ("panels", f"{t('plot_loss')} | {t('plot_accuracy')} — {t('plot_step')}")]
    return Caption(alt, [alt], legend)


def _bins(totals: list[float], max_score: float, bins: int) -> tuple[float, list[int]]:
    width = max_score / bins
    counts = [0] * bins
    for total in totals:
        counts[min(int(total / width), bins - 1)] += 1
    return width, counts


def histogram_text(totals: list[float], max_score: float, t: Callable[..., str],
                   bins: int = 10) -> tuple[str, list[str]] | None:
    """The histogram's text alternative and the numbers behind it, without drawing it (what a page needs)."""
    if not totals or max_score <= 0:
        return None
    width, counts = _bins(totals, max_score, bins)
    details = [t("histogram_alt", count=c, low=width * i, high=width * (i + 1)) for i, c in enumerate(counts) if c]
    return f"{t('histogram')}: " + "; ".join(details), details


def histogram(totals: list[float], max_score: float, t: Callable[..., str], bins: int = 10) -> Plot | None:
    """How the class's totals are spread, in `bins` equal ranges from 0 to the maximum."""
    text = histogram_text(totals, max_score, t, bins)
    if text is None:
        return None
    width, counts = _bins(totals, max_score, bins)
    fig = _figure_class()(figsize=(5.2, 2.6))
    ax = fig.add_subplot()
    ax.bar([width * (i + 0.5) for i in range(bins)], counts, width=width * 0.9, color=YOURS)
    ax.set_xlim(0, max_score)
    ax.set_ylabel(t("students_count"))
    ax.set_title(t("histogram"), fontsize=10)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return Plot(_svg(fig), *text)


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _first(values: list | None) -> float | None:
    return next((v for v in values or [] if v is not None), None)


def _last(values: list | None) -> float | None:
    return next((v for v in reversed(values or []) if v is not None), None)


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


DRAWINGS: dict[str, tuple[Callable[[dict], str | None], Callable[[dict, Callable[..., str]], Caption | None]]] = {
    "gradient": (gradient_drawing, gradient_text), "training": (training_drawing, training_text)}
