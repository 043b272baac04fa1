"""Plots: server-side SVG pictures of a report (matplotlib, Agg), each with its text alternative.

Text stays text in the SVG (`svg.fonttype = none`), so Japanese labels render with the browser's
fonts. Figures are built with the object API (no pyplot state), so requests may plot in parallel.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "nn-grader", "font.size": 10})

YOURS, REFERENCE, BAD, GOOD = "#1f5fa8", "#8a8a8a", "#b3261e", "#2e7d32"


@dataclass(frozen=True)
class Plot:
    svg: str            # an inline <svg> element (no XML prolog)
    alt: str            # one-sentence summary for aria-label
    details: list[str]  # the numbers behind the picture, one line each


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs the layout font lacks (CJK) are the browser's job
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r"<svg ", '<svg class="plot" focusable="false" aria-hidden="true" ', text, count=1)


def gradient_check(report: dict, t: Callable[..., str]) -> Plot | None:
    """Bars of mean |backprop − numerical| per parameter, log scale, with the threshold line."""
    unit = (report.get("units") or {}).get("gradient_check")
    checks = [c for c in (unit or {}).get("checks", []) if c.get("measured")]
    if not checks:
        return None
    measured = [c["measured"] for c in checks]
    threshold = measured[0].get("threshold")
    params = [c.get("name") or m["param"] for c, m in zip(checks, measured, strict=True)]  # W1, W1_large
    errors = [m["error"] if _finite(m.get("error")) else None for m in measured]
    shown = [max(e, 1e-16) if e is not None else 1e-16 for e in errors]
    fig = Figure(figsize=(5.2, 2.8))
    ax = fig.add_subplot()
    colours = [BAD if e is None or (threshold and e >= threshold) else GOOD for e in errors]
    ax.bar(params, shown, color=colours)
    ax.set_yscale("log")
    if threshold:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
        ax.annotate(t("plot_gradient_threshold", threshold=threshold), (0.01, threshold), xycoords=("axes fraction",
                    "data"), textcoords="offset points", xytext=(0, 3), fontsize=9)
    ax.set_title(t("plot_gradient_title"), fontsize=10)
    ax.set_ylim(min(min(shown), threshold or 1) / 10, max(max(shown), threshold or 1) * 10)
    details = []
    for param, error in zip(params, errors, strict=True):
        if error is None:
            details.append(t("plot_gradient_missing", param=param))
        else:
            verdict = t("below_threshold") if threshold is None or error < threshold else t("above_threshold")
            details.append(t("plot_gradient_alt", param=param, error=error, verdict=verdict))
    bound = t("plot_gradient_threshold", threshold=threshold or 0)
    alt = f"{t('plot_gradient_title')} ({bound}): " + "; ".join(details)
    return Plot(_svg(fig), alt, details)


def training(report: dict, t: Callable[..., str]) -> Plot | None:
    """Loss and batch accuracy per step, the student's run beside the reference's on the same batches."""
    run = report.get("training")
    if not run or not run.get("student", {}).get("loss"):
        return None
    every = int(run.get("every") or 1)
    fig = Figure(figsize=(7.5, 3.0), layout="constrained")
    for i, key in enumerate(("loss", "accuracy")):
        ax = fig.add_subplot(1, 2, i + 1)
        for who, colour, style in (("student", YOURS, "-"), ("reference", REFERENCE, "--")):
            values = run.get(who, {}).get(key) or []
            steps = [n * every for n in range(len(values))]
            ax.plot(steps, [math.nan if v is None else v for v in values], style, color=colour, linewidth=1.4,
                    label=t("plot_yours" if who == "student" else "plot_reference"))
        ax.set_xlabel(t("plot_step"))
        ax.set_title(t(f"plot_{key}"), fontsize=10)
        if key == "accuracy":
            ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
    fig.suptitle(t("plot_training_title"), fontsize=10)
    student, reference = run["student"], run.get("reference") or {}
    facts = {"s_first": _num(_first(student.get("loss"))), "s_last": _num(_last(student.get("loss"))),
             "r_first": _num(_first(reference.get("loss"))), "r_last": _num(_last(reference.get("loss"))),
             "s_acc": _num(_last(student.get("accuracy"))), "r_acc": _num(_last(reference.get("accuracy"))),
             "steps": len(student["loss"]) * every}
    alt = t("plot_training_alt", **facts)
    return Plot(_svg(fig), alt, [alt])


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
    fig = Figure(figsize=(5.2, 2.6))
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
