"""What the pages show of a class's standings, as plain data: the students x units matrix (every student on
the roster) with its colour bands and means, and the most common failures. Pure functions, no I/O, no HTML."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from service.grades import GradeRow

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
    status: str                     # grades.GRADED, NO_SUBMISSION or FAILED
    submission: str | None          # the counting submission (None: nothing graded)
    cells: list[Cell] | None        # one per unit, in the matrix's order; None: nothing graded
    total: float | None
    manual: float | None
    manual_note: str | None         # a page message key when the manual grade was given on another attempt


@dataclass(frozen=True)
class Means:
    """Class means over some of the rows: per unit and of the totals, None over no rows."""

    count: int
    units: dict[str, float | None]
    total: float | None


@dataclass(frozen=True)
class Matrix:
    units: list[str]
    rows: list[MatrixRow]
    graded: Means                   # over the students with a graded submission
    roster: Means                   # over the whole roster, "no submission" counting 0

    def of(self, students: set[str]) -> list[MatrixRow]:
        """The rows of these students (every row when the set is empty)."""
        return [r for r in self.rows if not students or r.student in students]


def _means(rows: list[MatrixRow], units: list[str]) -> Means:
    def mean(values: list[float]) -> float | None:
        return statistics.fmean(values) if values else None
    return Means(len(rows), {u: mean([r.cells[i].score if r.cells else 0.0 for r in rows])
                             for i, u in enumerate(units)},
                 mean([r.total or 0.0 for r in rows]))


def matrix(units: list[str], grades: list[GradeRow]) -> Matrix:
    """Students x units from the gradebook's rows (every student on the roster), with the class means over
    the graded students and over the whole roster."""
    rows = []
    for g in grades:
        c = g.counted
        cells = [Cell(c.unit_scores.get(u, 0.0), score_band(c.unit_scores.get(u, 0.0), c.unit_max_scores.get(u, 0.0)))
                 for u in units] if c else None
        rows.append(MatrixRow(g.student, g.name, g.status, c.submission if c else None, cells, g.total,
                              g.manual_score, g.manual.note if g.manual else None))
    return Matrix(units, rows, _means([r for r in rows if r.cells is not None], units), _means(rows, units))


@dataclass(frozen=True)
class CommonFailure:
    label: str                                   # "SoftmaxWithLoss.backward_one_hot" or a diagnosis
    students: list[tuple[str, str, str]]         # (student id, name, submission id)


def common_failures(grades: list[GradeRow], limit: int = 15) -> list[CommonFailure]:
    """Failed checks and diagnoses (the results' `failing` summary), most students first; each student
    counted once per label."""
    seen: dict[str, dict[str, tuple[str, str, str]]] = defaultdict(dict)
    for g in grades:
        if g.counted is None:
            continue
        who = (g.student, g.name, g.counted.submission)
        for label in g.counted.failing:
            seen[label][g.student] = who
    ranked = sorted(seen.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    return [CommonFailure(label, sorted(students.values())) for label, students in ranked]
