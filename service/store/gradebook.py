"""The gradebook's records: assignments and their policy, results, the standing per student, manual grades."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from grader import spec
from service.models import Assignment, ManualGrade, Result, Student, Submission, now


@dataclass(frozen=True)
class Standing:
    """The submission that counts for one student on one assignment, with its result."""

    student: Student
    submission: Submission
    result: Result


@dataclass(frozen=True)
class Attempt:
    """One submission as a page lists it: its status and, once graded, its result and manual grade."""

    submission: Submission
    result: Result | None
    manual: ManualGrade | None = None


class GradebookRecords:
    sessions: sessionmaker[Session]

    # --- assignments -------------------------------------------------------------------------------

    def register_assignments(self, assignments: Iterable[spec.Assignment]) -> None:
        """Insert or refresh assignments from their specs (their policy, set by an instructor, is kept)."""
        with self.sessions.begin() as s:
            for a in assignments:
                row = s.get(Assignment, a.name) or Assignment(name=a.name, policy="latest")
                row.title, row.max_score, row.units = a.title, a.max_score, list(a.units)
                s.add(row)

    def assignment(self, name: str) -> Assignment | None:
        with self.sessions() as s:
            return s.get(Assignment, name)

    def assignments(self) -> list[Assignment]:
        with self.sessions() as s:
            return list(s.scalars(select(Assignment).order_by(Assignment.name)))

    def set_policy(self, name: str, policy: str) -> None:
        with self.sessions.begin() as s:
            s.get_one(Assignment, name).policy = policy

    # --- results -----------------------------------------------------------------------------------

    def result(self, submission_id: str) -> Result | None:
        with self.sessions() as s:
            return s.scalar(select(Result).where(Result.submission_id == submission_id))

    def standings(self, assignment: Assignment) -> list[Standing]:
        """Per student, the graded submission that counts under the assignment's policy (latest or best)."""
        with self.sessions() as s:
            rows = s.execute(select(Student, Submission, Result)
                             .join(Submission, Submission.student == Student.id)
                             .join(Result, Result.submission_id == Submission.id)
                             .where(Submission.assignment == assignment.name)
                             .order_by(Student.id, Submission.received_at)).all()
        best: dict[str, Standing] = {}
        for student, submission, result in rows:
            current = best.get(student.id)
            if current is None or assignment.policy != "best" or result.score > current.result.score:
                best[student.id] = Standing(student, submission, result)
        return list(best.values())

    def attempts(self, student: str | None = None, assignment: str | None = None,
                 statuses: tuple[str, ...] = ()) -> list[Attempt]:
        """Submissions with their result and manual grade, newest first, in one query."""
        query = (select(Submission, Result, ManualGrade)
                 .outerjoin(Result, Result.submission_id == Submission.id)
                 .outerjoin(ManualGrade, ManualGrade.submission_id == Submission.id)
                 .order_by(Submission.received_at.desc()))
        if student:
            query = query.where(Submission.student == student)
        if assignment:
            query = query.where(Submission.assignment == assignment)
        if statuses:
            query = query.where(Submission.status.in_(statuses))
        with self.sessions() as s:
            return [Attempt(sub, res, man) for sub, res, man in s.execute(query).all()]

    # --- manual grades -----------------------------------------------------------------------------

    def manual_grades(self, submission_ids: list[str]) -> dict[str, ManualGrade]:
        with self.sessions() as s:
            rows = s.scalars(select(ManualGrade).where(ManualGrade.submission_id.in_(submission_ids)))
            return {m.submission_id: m for m in rows}

    def manual_grade(self, submission_id: str) -> ManualGrade | None:
        with self.sessions() as s:
            return s.get(ManualGrade, submission_id)

    def set_manual_grade(self, submission_id: str, score: float, comment: str) -> None:
        """Give or replace a submission's manual grade."""
        with self.sessions.begin() as s:
            s.merge(ManualGrade(submission_id=submission_id, score=score, comment=comment, graded_at=now()))
