"""What the pages show of one report, as plain data: pure functions, no I/O, no HTML."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from grader import causes
from service.summaries import diagnosis


@dataclass(frozen=True)
class Failure:
    check: str                      # e.g. "backward" or "forward_one_hot/with_reference_deps"
    message: str
    where: dict | None              # {"cell", "line", "text"} in the student's notebook
    diagnosis: str | None


@dataclass(frozen=True)
class CauseRow:
    """Failed checks of a unit with one cause, as the page shows them: named once, message and line once."""

    label: str                      # "W1, b1, and their large twins (4 checks)"
    message: str
    where: dict | None
    diagnoses: tuple[dict, ...]     # {"id", "message"}, each once


@dataclass(frozen=True)
class UnitRow:
    name: str
    score: float
    max_score: float
    failures: list[Failure] = field(default_factory=list)
    causes: list[CauseRow] = field(default_factory=list)

    @property
    def diagnoses(self) -> list[dict]:
        """The distinct diagnoses behind the unit's failures ({"id", "message"}), each once."""
        return list({d["id"]: d for c in self.causes for d in c.diagnoses}.values())

    @property
    def full(self) -> bool:
        return self.score >= self.max_score


def unit_rows(report: dict, lang: str | None = None) -> list[UnitRow]:
    """One row per unit with its failed checks, and those grouped by cause (grader/causes.py), in the
    report's order; messages in `lang` where the report has them in that language (else in the report's own)."""
    rows = []
    label_lang = lang or report.get("language") or "en"
    for name, unit in (report.get("units") or {}).items():
        checks = unit.get("checks", [])
        failures = [Failure(c.get("name", "?"), (c.get("messages") or {}).get(lang) or c.get("message", ""),
                            c.get("where"), diagnosis(c))
                    for c in checks if not c.get("passed")]
        grouped = [CauseRow(causes.label(c, label_lang), c.message, c.where, c.diagnoses)
                   for c in causes.group(checks, lang)]
        rows.append(UnitRow(name, float(unit.get("score", 0)), float(unit.get("max_score", 0)), failures, grouped))
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
