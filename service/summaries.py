"""What the lists read of a report, taken once when it is recorded: the maximum per unit, the labels of what
failed, the grading error. The gradebook, its CSV, the histogram and the common failures read these columns
and never open the report again. Pure functions."""

from __future__ import annotations


def diagnosis(check: dict) -> str | None:
    """The mistake recognised behind a failed check, where the report has one (`diagnosis.message`)."""
    found = check.get("diagnosis")
    if isinstance(found, dict):
        found = found.get("message")
    return found if isinstance(found, str) and found else None


def failing(report: dict) -> list[str]:
    """What failed, once each, in the report's order: `unit.check` (a check's name before any `/`: its
    variants count as the check) and each diagnosis."""
    labels: dict[str, None] = {}
    for unit_name, unit in (report.get("units") or {}).items():
        for check in unit.get("checks", []):
            if not check.get("passed"):
                labels[f"{unit_name}.{str(check.get('name', '?')).split('/')[0]}"] = None
                if found := diagnosis(check):
                    labels[found] = None
    return list(labels)


def columns(report: dict) -> dict:
    """The summary columns of a result (service/models.py's Result) for this report."""
    units = report.get("units") or {}
    return {"score": float(report["score"]), "max_score": float(report["max_score"]),
            "unit_scores": {name: float(u.get("score", 0)) for name, u in units.items()},
            "unit_max_scores": {name: float(u.get("max_score", 0)) for name, u in units.items()},
            "failing": failing(report), "error": report.get("error")}
