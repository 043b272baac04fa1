"""What the pages show of a class's standings, as plain data: the students x units matrix with its colour
bands and means, and the most common failures. Pure functions, no I/O, no HTML."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from service.grades import GradeRow
from service.web.report_view import unit_rows

BANDS = 4   # a cell's colour: score / max in quarters, s0 (nothing) .. s4 (full marks)


def score_band(score: float, max_score: float) -> int:
    """The colour band of a score: 0 .. BANDS, by the fraction of the maximum it reached."""
    return math.floor(score / max_score * BANDS) if max_score else 0


@dataclass(frozen=True)
class Cell:
    score: float
    band: int


@dataclass(frozen=True)
class MatrixRow:
    student: str
    name: str
    submission: str
    cells: list[Cell]               # one per unit, in the matrix's order
    total: float
    manual: float | None
    manual_note: str | None         # a page message key when the manual grade was given on another attempt


@dataclass(frozen=True)
class Matrix:
    units: list[str]
    rows: list[MatrixRow]
    means: dict[str, float | None]
    mean_total: float | None

    def of(self, students: set[str]) -> list[MatrixRow]:
        """The rows of these students (every row when the set is empty)."""
        return [r for r in self.rows if not students or r.student in students]


def matrix(units: list[str], grades: list[GradeRow]) -> Matrix:
    """Students x units from the gradebook's rows, with the class mean per unit and of the totals."""
    rows = []
    for g in grades:
        maxima = {u: float(x["max_score"]) for u, x in g.report.get("units", {}).items()}
        scores = {u: float(g.units.get(u, 0.0)) for u in units}
        rows.append(MatrixRow(g.student, g.name, g.submission,
                              [Cell(scores[u], score_band(scores[u], maxima.get(u, 0.0))) for u in units],
                              g.total, g.manual_score, g.manual.note if g.manual else None))
    means = {u: statistics.fmean(r.cells[i].score for r in rows) if rows else None for i, u in enumerate(units)}
    mean_total = statistics.fmean(r.total for r in rows) if rows else None
    return Matrix(units, rows, means, mean_total)


@dataclass(frozen=True)
class CommonFailure:
    label: str                                   # "SoftmaxWithLoss.backward_one_hot" or a diagnosis
    students: list[tuple[str, str, str]]         # (student id, name, submission id)


def common_failures(grades: list[GradeRow], limit: int = 15) -> list[CommonFailure]:
    """Failed checks and diagnoses, most students first; each student counted once per label."""
    seen: dict[str, dict[str, tuple[str, str, str]]] = defaultdict(dict)
    for g in grades:
        who = (g.student, g.name, g.submission)
        for row in unit_rows(g.report):
            for failure in row.failures:
                seen[f"{row.name}.{failure.check.split('/')[0]}"][g.student] = who
                if failure.diagnosis:
                    seen[failure.diagnosis][g.student] = who
    ranked = sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    return [CommonFailure(label, sorted(students.values())) for label, students in ranked]
