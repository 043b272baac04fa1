"""A graded report as the pages show it (the student's result page, the instructor's submission page):
a row per unit with its failures, loading notes, the pictures with their text alternatives, the manual grade."""

from __future__ import annotations

from collections.abc import Callable

from grader import curves
from service.grades import ManualMark
from service.services import Services
from service.web import plots, report_view

PLOTS: dict[str, Callable[[dict, Callable[..., str]], plots.Plot | None]] = {
    "gradient": plots.gradient_check, "training": plots.training}
FIGURES = (("gradient", 520, "plot_gradient_title"), ("training", 750, "plot_training_title"))   # kind, width, title


def with_reference(services: Services, report: dict) -> dict:
    """The report with the reference network's training run beside the student's (trained here on
    the same batches from the report's seed on first view; the grader does not spend time on it)."""
    training = report.get("training")
    assignment = services.assignments.get(report.get("assignment", ""))
    if not training or training.get("reference") or assignment is None:
        return report
    reference = curves.reference_run(assignment, int(report["seed"]), services.settings.grader)
    return {**report, "training": {**training, "reference": reference}}


def picture(services: Services, report: dict, kind: str, t: Callable[..., str]) -> plots.Plot | None:
    """One of the report's pictures, or None when there is no such kind or nothing to draw."""
    draw = PLOTS.get(kind)
    return draw(with_reference(services, report), t) if draw else None


def context(services: Services, submission_id: str, report: dict | None, manual: ManualMark | None,
            lang: str, t: Callable[..., str]) -> dict:
    """What _report.html needs: rows per unit (and those that failed), notes, the pictures, the manual grade."""
    if report is None:
        return {"rows": [], "failed_rows": [], "notes": [], "plots": [], "manual": manual}
    report = with_reference(services, report)
    figures = []
    for kind, width, title in FIGURES:
        plot = PLOTS[kind](report, t)
        if plot is not None:
            figures.append({"kind": kind, "url": f"/submissions/{submission_id}/plots/{kind}.svg", "alt": plot.alt,
                            "details": plot.details, "width": width, "title": t(title)})
    rows = report_view.unit_rows(report, lang)
    return {"rows": rows, "failed_rows": report_view.failed(rows), "notes": report_view.notes(report, lang),
            "plots": figures, "manual": manual}
