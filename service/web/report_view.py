"""What the pages show of one report, as plain data: pure functions, no I/O, no HTML."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Failure:
    check: str                      # e.g. "backward" or "forward_one_hot/with_reference_deps"
    message: str
    where: dict | None              # {"cell", "line", "text"} in the student's notebook
    diagnosis: str | None


@dataclass(frozen=True)
class UnitRow:
    name: str
    score: float
    max_score: float
    failures: list[Failure] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return self.score >= self.max_score


def _diagnosis(check: dict) -> str | None:
    """The mistake recognised behind a failed check, where the report has one (`diagnosis.message`)."""
    diagnosis = check.get("diagnosis")
    if isinstance(diagnosis, dict):
        diagnosis = diagnosis.get("message")
    return diagnosis if isinstance(diagnosis, str) and diagnosis else None


def unit_rows(report: dict, lang: str | None = None) -> list[UnitRow]:
    """One row per unit with its failed checks, in the report's order; messages in `lang` where the
    report has them in that language (else in the report's own)."""
    rows = []
    for name, unit in (report.get("units") or {}).items():
        failures = [Failure(c.get("name", "?"), (c.get("messages") or {}).get(lang) or c.get("message", ""),
                            c.get("where"), _diagnosis(c))
                    for c in unit.get("checks", []) if not c.get("passed")]
        rows.append(UnitRow(name, float(unit.get("score", 0)), float(unit.get("max_score", 0)), failures))
    return rows


def notes(report: dict, lang: str) -> list[str]:
    """What was skipped while loading, in `lang` where the report has it."""
    return list((report.get("notes_by_language") or {}).get(lang) or report.get("notes") or [])


def failed_cells(report: dict) -> dict[str, list[str]]:
    """Cell label -> the failed checks that point at it (for marking the notebook view)."""
    marks: dict[str, list[str]] = defaultdict(list)
    for row in unit_rows(report):
        for failure in row.failures:
            if failure.where and failure.where.get("cell"):
                marks[failure.where["cell"]].append(f"{row.name}.{failure.check} (line {failure.where.get('line')})")
    return dict(marks)


def failed(rows: list[UnitRow]) -> list[UnitRow]:
    """The rows with a failed check, for the report's "what failed" section."""
    return [r for r in rows if r.failures]
