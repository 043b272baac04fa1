"""The gradebook: per student the submission that counts, with its scores and manual grade, as rows for the
API's results (JSON and CSV) and the instructor's pages; the CSV written once, from those rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from grader.reports import csv_cell  # the CLI's CSV neutraliser: one rule for every cell of every CSV
from service.models import Assignment, Submission
from service.store import GivenManualGrade, Store

CLI_COLUMNS = ["submission", "score", "max_score", "seed", "error"]   # `grader grade --format csv`, then units
MANUAL_COLUMNS = ["manual_score", "manual_comment", "manual_given_on", "total"]


@dataclass(frozen=True)
class ManualMark:
    """A student's manual grade as shown beside one of their submissions on the assignment."""

    score: float
    comment: str
    given_on: str                # the submission it was given on
    note: str | None             # None when given on this submission; else a page message key saying when


def manual_mark(given: GivenManualGrade | None, submission: Submission) -> ManualMark | None:
    """The manual grade beside `submission`, flagged when it was given on an earlier (or later) attempt."""
    if given is None:
        return None
    grade = given.grade
    note = None
    if grade.submission_id != submission.id:
        note = "manual_given_earlier" if given.given_on_received <= submission.received_at else "manual_given_later"
    return ManualMark(grade.score, grade.comment, grade.submission_id, note)


@dataclass(frozen=True)
class GradeRow:
    """One student's standing on an assignment: the counting submission's result, and the manual grade."""

    student: str
    name: str
    submission: str              # the submission's id
    received: datetime
    filename: str                # the report's `submission`: the uploaded file name
    score: float                 # the automatic score
    max_score: float
    seed: int
    error: str | None
    units: dict[str, float]      # unit -> automatic score
    report: dict                 # the whole report (for what the pages show of it)
    manual: ManualMark | None

    @property
    def manual_score(self) -> float | None:
        return self.manual.score if self.manual else None

    @property
    def total(self) -> float:
        """The automatic score plus the manual grade, if any."""
        return self.score + (self.manual.score if self.manual else 0.0)


def rows(store: Store, assignment: Assignment) -> list[GradeRow]:
    """One row per student with a graded submission, chosen by the assignment's policy (latest or best), with
    the student's manual grade whichever attempt it was given on."""
    standings = store.standings(assignment)
    manual = store.manual_grades(assignment.name)
    return [GradeRow(student=s.student.id, name=s.student.name, submission=s.submission.id,
                     received=s.submission.received_at, filename=s.result.report["submission"],
                     score=s.result.score, max_score=s.result.max_score, seed=s.result.report["seed"],
                     error=s.result.report.get("error"), units=s.result.unit_scores, report=s.result.report,
                     manual=manual_mark(manual.get(s.student.id), s.submission))
            for s in standings]


def to_csv(grades: list[GradeRow], units: list[str], with_manual: bool = False) -> str:
    """`student_id, student_name`, the CLI's CSV columns and a column per unit; `with_manual` adds the
    manual score, its comment, the submission it was given on and the total (the instructor's gradebook)."""
    out = io.StringIO()
    writer = csv.writer(out)
    lines = [["student_id", "student_name", *CLI_COLUMNS, *units, *(MANUAL_COLUMNS if with_manual else ())]]
    for r in grades:
        line = [r.student, r.name, r.filename, f"{r.score:g}", f"{r.max_score:g}", r.seed, r.error or "",
                *(f"{r.units[u]:g}" if u in r.units else "" for u in units)]
        if with_manual:
            line += [f"{r.manual.score:g}" if r.manual else "", r.manual.comment if r.manual else "",
                     r.manual.given_on if r.manual else "", f"{r.total:g}"]
        lines.append(line)
    for line in lines:
        writer.writerow([csv_cell(cell) for cell in line])
    return out.getvalue()
