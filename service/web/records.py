"""The records the pages need beyond the API's: manual grades, and the reads that join several tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from service.models import Base, Result, Student, Submission, Worker, now
from service.store import Store


class ManualGrade(Base):
    """An instructor's score and comment for a submission's written parts; kept by submission id, so a
    regrade (which replaces only the automatic result) leaves it in place."""

    __tablename__ = "manual_grades"
    submission_id: Mapped[str] = mapped_column(String(32), ForeignKey("submissions.id", ondelete="CASCADE"),
                                               primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    graded_at: Mapped[datetime]


@dataclass(frozen=True)
class Attempt:
    """One submission as a page lists it: its status and, once graded, its result."""

    submission: Submission
    result: Result | None
    manual: ManualGrade | None = None


def attempts(store: Store, student: str | None = None, assignment: str | None = None,
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
    with store.session() as s:
        return [Attempt(sub, res, man) for sub, res, man in s.execute(query).all()]


def manual_grades(store: Store, submission_ids: list[str]) -> dict[str, ManualGrade]:
    with store.session() as s:
        rows = s.scalars(select(ManualGrade).where(ManualGrade.submission_id.in_(submission_ids)))
        return {m.submission_id: m for m in rows}


def manual_grade(store: Store, submission_id: str) -> ManualGrade | None:
    with store.session() as s:
        return s.get(ManualGrade, submission_id)


def set_manual_grade(store: Store, submission_id: str, score: float, comment: str) -> None:
    with store.session.begin() as s:
        s.merge(ManualGrade(submission_id=submission_id, score=score, comment=comment, graded_at=now()))


def students_by_id(store: Store) -> dict[str, Student]:
    return {s.id: s for s in store.students()}


def workers(store: Store) -> list[Worker]:
    """Every worker that ever beat, most recently seen first (the page marks which are alive)."""
    with store.session() as s:
        return list(s.scalars(select(Worker).order_by(Worker.seen_at.desc())))
