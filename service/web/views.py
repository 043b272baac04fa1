"""What the pages show of reports and standings, as plain data: pure functions, no I/O, no HTML."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True)
class MatrixRow:
    student: str
    name: str
    submission: str
    scores: dict[str, float]
    total: float
    manual: float | None


@dataclass(frozen=True)
class Matrix:
    units: list[str]
    maxima: dict[str, float]
    rows: list[MatrixRow]
    means: dict[str, float | None]
    mean_total: float | None


def matrix(units: list[str], standings: list[Any], manual: dict[str, float]) -> Matrix:
    """Students x units from the standings (service.store.Standing), with the class mean per unit."""
    rows, maxima = [], {}
    for s in standings:
        report_units = s.result.report.get("units", {})
        maxima.update({u: float(report_units[u]["max_score"]) for u in units if u in report_units})
        extra = manual.get(s.submission.id)
        rows.append(MatrixRow(s.student.id, s.student.name, s.submission.id,
                              {u: float(s.result.unit_scores.get(u, 0.0)) for u in units},
                              float(s.result.score) + (extra or 0.0), extra))
    means = {u: statistics.fmean(r.scores[u] for r in rows) if rows else None for u in units}
    mean_total = statistics.fmean(r.total for r in rows) if rows else None
    return Matrix(units, maxima, rows, means, mean_total)


@dataclass(frozen=True)
class CommonFailure:
    label: str                                   # "SoftmaxWithLoss.backward_one_hot" or a diagnosis
    students: list[tuple[str, str, str]]         # (student id, name, submission id)


def common_failures(standings: list[Any], limit: int = 15) -> list[CommonFailure]:
    """Failed checks and diagnoses, most students first; each student counted once per label."""
    seen: dict[str, dict[str, tuple[str, str, str]]] = defaultdict(dict)
    for s in standings:
        who = (s.student.id, s.student.name, s.submission.id)
        for row in unit_rows(s.result.report):
            for failure in row.failures:
                seen[f"{row.name}.{failure.check.split('/')[0]}"][s.student.id] = who
                if failure.diagnosis:
                    seen[failure.diagnosis][s.student.id] = who
    ranked = sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    return [CommonFailure(label, sorted(students.values())) for label, students in ranked]
