"""A graded report as the pages show it (the student's result page, the instructor's submission page):
a row per unit with its failures, loading notes, the pictures with their text alternatives, the manual grade.
The pictures' words come from the report here; the pictures themselves are drawn once per report
(service/web/prepared.py): a view never draws or trains."""

from __future__ import annotations

from collections.abc import Callable

from service.grades import ManualMark
from service.services import Services
from service.web import plots, report_view

FIGURES = (("gradient", 520, "plot_gradient_title"), ("training", 750, "plot_training_title"))   # kind, width, title


def context(services: Services, submission_id: str, report: dict | None, manual: ManualMark | None,
            lang: str, t: Callable[..., str]) -> dict:
    """What _report.html needs: rows per unit (and those that failed), notes, the pictures, the manual grade."""
    if report is None:
        return {"rows": [], "failed_rows": [], "notes": [], "plots": [], "manual": manual}
    figures = []
    for kind, width, title in FIGURES:
        words = plots.DRAWINGS[kind][1](report, t)
        if words is not None:
            figures.append({"kind": kind, "url": f"/submissions/{submission_id}/plots/{kind}.svg", "alt": words.alt,
                            "details": words.details, "legend": words.legend, "width": width, "title": t(title)})
    rows = report_view.unit_rows(report, lang)
    return {"rows": rows, "failed_rows": report_view.failed(rows), "notes": report_view.notes(report, lang),
            "plots": figures, "manual": manual}
