"""A graded report as the pages show it (the student's result page, the instructor's submission page):
a row per unit with its failures, loading notes, the pictures with their text alternatives, the manual grade.
The pictures are read as made once per submission (service/web/prepared.py): a view never draws or trains."""

from __future__ import annotations

from collections.abc import Callable

from service.grades import ManualMark
from service.services import Services
from service.web import prepared, report_view

FIGURES = (("gradient", 520, "plot_gradient_title"), ("training", 750, "plot_training_title"))   # kind, width, title


def context(services: Services, submission_id: str, report: dict | None, manual: ManualMark | None,
            lang: str, t: Callable[..., str]) -> dict:
    """What _report.html needs: rows per unit (and those that failed), notes, the pictures, the manual grade."""
    if report is None:
        return {"rows": [], "failed_rows": [], "notes": [], "plots": [], "manual": manual}
    figures = []
    for kind, width, title in FIGURES:
        plot = prepared.picture(services.store, submission_id, report, kind, lang)
        if plot is not None:
            figures.append({"kind": kind, "url": f"/submissions/{submission_id}/plots/{kind}.svg", "alt": plot.alt,
                            "details": plot.details, "width": width, "title": t(title)})
    rows = report_view.unit_rows(report, lang)
    return {"rows": rows, "failed_rows": report_view.failed(rows), "notes": report_view.notes(report, lang),
            "plots": figures, "manual": manual}
