"""The gradebook: per student on the roster the submission that counts (or why there is none), with its scores
and manual grade, as rows for the API's results (JSON and CSV) and the instructor's pages; the CSV written
once, from those rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from grader.reports import csv_cell  # the CLI's CSV neutraliser: one rule for every cell of every CSV
from service.models import DEFAULT_COURSE, Assignment
from service.store import Counted, GivenManualGrade, Store

CLI_COLUMNS = ["submission", "score", "max_score", "seed", "error"]   # `grader grade --format csv`, then units
MANUAL_COLUMNS = ["manual_score", "manual_comment", "manual_given_on", "total"]
LATE_COLUMNS = ["raw_score", "late_days", "penalty"]   # a course's gradebook: `score` is what counts after them


@dataclass(frozen=True)
class ManualMark:
    """A student's manual grade as shown beside one of their submissions on the assignment."""

    score: float
    comment: str
    given_on: str                # the submission it was given on
    note: str | None             # None when given on this submission; else a page message key saying when


def manual_mark(given: GivenManualGrade | None, submission: str, received: datetime) -> ManualMark | None:
    """The manual grade beside the submission `submission` (received at `received`), flagged when it was given
    on an earlier (or later) attempt."""
    if given is None:
        return None
    grade = given.grade
    note = None
    if grade.submission_id != submission:
        note = "manual_given_earlier" if given.given_on_received <= received else "manual_given_later"
    return ManualMark(grade.score, grade.comment, grade.submission_id, note)


GRADED, NO_SUBMISSION, FAILED = "graded", "no submission", "failed"   # a row's `status` (the CSV's too)


@dataclass(frozen=True)
class GradeRow:
    """One rostered student's standing on an assignment: the counting submission's summary (None without a
    graded one, then `status` says whether nothing came or grading failed), and the manual grade."""

    student: str
    name: str
    status: str                  # GRADED, NO_SUBMISSION or FAILED
    counted: Counted | None
    manual: ManualMark | None

    @property
    def graded(self) -> bool:
        return self.counted is not None

    @property
    def manual_score(self) -> float | None:
        return self.manual.score if self.manual else None

    @property
    def total(self) -> float | None:
        """The automatic score plus the manual grade, if any; None when there is neither."""
        if self.counted is None and self.manual is None:
            return None
        return (self.counted.score if self.counted else 0.0) + (self.manual.score if self.manual else 0.0)


def rows(store: Store, assignment: Assignment, course: str = DEFAULT_COURSE) -> list[GradeRow]:
    """One row per student on the course's roster, with the graded submission chosen by the offering's `counts`
    (latest or best, after the late penalty), and the student's manual grade whichever attempt it was given on."""
    manual = store.manual_grades(assignment.name, course)
    out = []
    for s in store.standings(assignment, course):
        status = GRADED if s.counted else FAILED if s.failed else NO_SUBMISSION
        given = manual.get(s.student)
        out.append(GradeRow(s.student, s.name, status, s.counted, _mark(given, s.counted)))
    return out


def _mark(given: GivenManualGrade | None, counted: Counted | None) -> ManualMark | None:
    """The manual grade beside the counting submission (or alone, when nothing of the student's is graded)."""
    if given is None:
        return None
    if counted is None:
        return ManualMark(given.grade.score, given.grade.comment, given.grade.submission_id, None)
    return manual_mark(given, counted.submission, counted.received)


def to_csv(grades: list[GradeRow], units: list[str], with_manual: bool = False, with_late: bool = False) -> str:
    """`student_id, student_name`, the CLI's CSV columns, a column per unit and the row's `status` (graded,
    no submission, failed: every student on the roster has a line); `with_late` adds the raw score, the late
    days and the penalty (`score` is then what counts); `with_manual` the manual score, its comment, the
    submission it was given on and the total (the instructor's gradebook)."""
    out = io.StringIO()
    writer = csv.writer(out)
    lines = [["student_id", "student_name", *CLI_COLUMNS, *units, "status", *(LATE_COLUMNS if with_late else ()),
              *(MANUAL_COLUMNS if with_manual else ())]]
    for r in grades:
        c = r.counted
        line = [r.student, r.name, *([c.filename, f"{c.score:g}", f"{c.max_score:g}", c.seed, c.error or ""]
                                     if c else [""] * len(CLI_COLUMNS)),
                *(f"{c.unit_scores[u]:g}" if c and u in c.unit_scores else "" for u in units), r.status]
        if with_late:
            line += [f"{c.raw_score:g}", c.late_days, f"{c.penalty:g}"] if c else [""] * len(LATE_COLUMNS)
        if with_manual:
            line += [f"{r.manual.score:g}" if r.manual else "", r.manual.comment if r.manual else "",
                     r.manual.given_on if r.manual else "", f"{r.total:g}" if r.total is not None else ""]
        lines.append(line)
    for line in lines:
        writer.writerow([csv_cell(cell) for cell in line])
    return out.getvalue()
