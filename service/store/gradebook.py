"""The gradebook's records: assignments and their policy, results, the standing per student, manual grades."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased, defer, sessionmaker, undefer

from grader import spec
from service.clocks import now
from service.models import (
    DEFAULT_COURSE,
    FAILED,
    Assignment,
    Enrollment,
    ManualGrade,
    Offering,
    Result,
    Student,
    Submission,
)
from service.store.course_records import audit, ensure_default_course


@dataclass(frozen=True)
class Counted:
    """The submission that counts for a student, with its result's summary (never the report): `score` is what
    it counts after the late penalty (service/lateness.py), `raw_score` what it was graded."""

    submission: str
    received: datetime
    filename: str
    seed: int
    late_days: int
    score: float
    raw_score: float
    max_score: float
    unit_scores: dict[str, float]
    unit_max_scores: dict[str, float]
    failing: list[str]
    error: str | None

    @property
    def penalty(self) -> float:
        """Points the late days took (rounded: 72 - 64.8 is 7.2, not 7.200000000000003)."""
        return round(self.raw_score - self.score, 9)


@dataclass(frozen=True)
class Standing:
    """One student on the roster and an assignment: the submission that counts (None when nothing of theirs
    is graded) and whether one of their attempts failed to be graded."""

    student: str
    name: str
    counted: Counted | None
    failed: bool


@dataclass(frozen=True)
class Attempt:
    """One submission as a page lists it: its status and, once graded, its result and manual grade."""

    submission: Submission
    result: Result | None
    manual: ManualGrade | None = None


@dataclass(frozen=True)
class GivenManualGrade:
    """A student's manual grade on an assignment, and when the attempt it was given on arrived."""

    grade: ManualGrade
    given_on_received: datetime


class GradebookRecords:
    sessions: sessionmaker[Session]

    # --- assignments -------------------------------------------------------------------------------

    def register_assignments(self, assignments: Iterable[spec.Assignment], versions: Mapping[str, str]) -> None:
        """Insert or refresh assignments from their specs and versions (their policy, set by an instructor, is
        kept); course `default` offers each, without dates, as before courses."""
        with self.sessions.begin() as s:
            ensure_default_course(s)
            for a in assignments:
                row = s.get(Assignment, a.name) or Assignment(name=a.name, policy="latest")
                row.title, row.max_score, row.units = a.title, a.max_score, list(a.units)
                row.version = versions.get(a.name)
                s.add(row)
                s.flush()
                if s.get(Offering, (DEFAULT_COURSE, a.name)) is None:
                    s.add(Offering(course=DEFAULT_COURSE, assignment=a.name, late_penalty_per_day=0.0,
                                   counts=row.policy, visible_before_opens=False))

    def assignment(self, name: str) -> Assignment | None:
        with self.sessions() as s:
            return s.get(Assignment, name)

    def assignments(self) -> list[Assignment]:
        with self.sessions() as s:
            return list(s.scalars(select(Assignment).order_by(Assignment.name)))

    def set_policy(self, name: str, policy: str, actor: str = "admin") -> None:
        """Which submission counts on course `default` (today's route), audited."""
        with self.sessions.begin() as s:
            row = s.get_one(Assignment, name)
            offering = s.get_one(Offering, (DEFAULT_COURSE, name))
            audit(s, DEFAULT_COURSE, actor, "policy", name, {"counts": offering.counts}, {"counts": policy})
            row.policy = offering.counts = policy

    # --- results -----------------------------------------------------------------------------------

    def result(self, submission_id: str) -> Result | None:
        """A submission's result with its whole report."""
        with self.sessions() as s:
            return s.scalar(select(Result).options(undefer(Result.report)).where(Result.submission_id == submission_id))

    def standings(self, assignment: Assignment, course: str = DEFAULT_COURSE) -> list[Standing]:
        """Every student on the course's roster, by id, with the graded submission of theirs in the course that
        counts under the offering's `counts` (latest; or best by the score after the late penalty, the earliest
        of the highest), chosen in SQL by a window over each student's results, read from the results' summary
        columns (the roster joined here: SQLite would rescan the counting rows for every student)."""
        with self.sessions() as s:
            offering = s.get(Offering, (course, assignment.name))
        per_day = offering.late_penalty_per_day if offering else 0.0
        after = Result.score - Submission.late_days * literal(per_day) * Result.max_score   # service/lateness.py
        counted_score = case((after > 0, after), else_=literal(0.0)).label("counted")
        order = ((counted_score.desc(), Submission.received_at, Submission.id)
                 if (offering.counts if offering else assignment.policy) == "best"
                 else (Submission.received_at.desc(), Submission.id.desc()))
        summary = (Result.max_score, Result.unit_scores, Result.unit_max_scores, Result.failing, Result.error)
        mine = and_(Submission.course == course, Submission.assignment == assignment.name)
        ranked = (select(Submission.student, Submission.id, Submission.received_at, Submission.late_days,
                         counted_score, Result.score, *summary,
                         func.row_number().over(partition_by=Submission.student, order_by=order).label("rank"))
                  .join(Result, Result.submission_id == Submission.id).where(mine).subquery())
        first = select(ranked).where(ranked.c.rank == 1).subquery()
        counted = aliased(Submission)    # file name and seed read for the counting rows only (after the notebook)
        query = (select(first.c.student, first.c.id, first.c.received_at, counted.filename, counted.seed,
                        first.c.late_days, first.c.counted, first.c.score, *(first.c[c.key] for c in summary))
                 .join(counted, counted.id == first.c.id))
        failed = select(Submission.student).where(mine, Submission.status == FAILED).distinct()
        with self.sessions() as s:
            chosen = {student: Counted(*row) for student, *row in s.execute(query)}
            failing = set(s.scalars(failed))
            roster = s.execute(select(Student.id, Student.name).join(Enrollment, Enrollment.student == Student.id)
                               .where(Enrollment.course == course).order_by(Student.id)).all()
        return [Standing(sid, name, chosen.get(sid), sid in failing) for sid, name in roster]

    def attempts(self, student: str | None = None, assignment: str | None = None,
                 statuses: tuple[str, ...] = (), course: str | None = None) -> list[Attempt]:
        """Submissions (of one course, when given) with their result's summary and their student's manual grade,
        newest first, in one query (neither the notebooks nor the reports)."""
        query = (select(Submission, Result, ManualGrade)
                 .options(defer(Submission.notebook, raiseload=True), defer(Result.report, raiseload=True))
                 .outerjoin(Result, Result.submission_id == Submission.id)
                 .outerjoin(ManualGrade, and_(ManualGrade.course == Submission.course,
                                              ManualGrade.assignment == Submission.assignment,
                                              ManualGrade.student == Submission.student))
                 .order_by(Submission.received_at.desc()))
        if student:
            query = query.where(Submission.student == student)
        if assignment:
            query = query.where(Submission.assignment == assignment)
        if statuses:
            query = query.where(Submission.status.in_(statuses))
        if course:
            query = query.where(Submission.course == course)
        with self.sessions() as s:
            return [Attempt(sub, res, man) for sub, res, man in s.execute(query).all()]

    # --- manual grades: one per course, student and assignment, whichever attempt it was given on -----

    def manual_grades(self, assignment: str, course: str = DEFAULT_COURSE) -> dict[str, GivenManualGrade]:
        """Every manual grade on an assignment in a course, by student."""
        with self.sessions() as s:
            rows = s.execute(_given().where(ManualGrade.course == course, ManualGrade.assignment == assignment)).all()
        return {grade.student: GivenManualGrade(grade, received) for grade, received in rows}

    def manual_grade(self, submission_id: str) -> GivenManualGrade | None:
        """The manual grade of this submission's student on its assignment in its course (given on it or on
        another attempt)."""
        mine = (select(Submission.course, Submission.assignment, Submission.student)
                .where(Submission.id == submission_id).subquery())
        with self.sessions() as s:
            row = s.execute(_given().join(mine, and_(ManualGrade.course == mine.c.course,
                                                     ManualGrade.assignment == mine.c.assignment,
                                                     ManualGrade.student == mine.c.student))).one_or_none()
        return GivenManualGrade(*row) if row else None

    def set_manual_grade(self, submission_id: str, score: float, comment: str, actor: str = "admin") -> None:
        """Give or replace the student's manual grade on the submission's assignment in its course, as given on
        this attempt; audited in that course with the grade before and after."""
        with self.sessions.begin() as s:
            course, assignment, student = s.execute(select(Submission.course, Submission.assignment,
                                                           Submission.student).where(
                Submission.id == submission_id)).one()
            old = s.get(ManualGrade, (course, assignment, student))
            before = {"score": old.score, "comment": old.comment, "submission": old.submission_id} if old else None
            s.merge(ManualGrade(course=course, assignment=assignment, student=student, submission_id=submission_id,
                                score=score, comment=comment, graded_at=now()))
            audit(s, course, actor, "manual_grade", f"{assignment}/{student}", before,
                  {"score": score, "comment": comment, "submission": submission_id})


def _given():
    """Manual grades with the arrival time of the attempt each was given on."""
    return select(ManualGrade, Submission.received_at).join(Submission, Submission.id == ManualGrade.submission_id)
