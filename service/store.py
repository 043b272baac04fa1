"""Queries and transactions on the course records; status changes live in service/lifecycle.py."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from grader import spec
from service import auth
from service.db import sessions
from service.models import Assignment, Credential, Result, Student, Submission, Worker, now

LIVE_WORKER_SECONDS = 45.0   # a worker not seen for this long is counted dead (it beats every 10 s)


@dataclass(frozen=True)
class RosterEntry:
    """A roster line as imported; `token` is set only when it was issued just now."""

    id: str
    name: str
    email: str
    token: str | None


@dataclass(frozen=True)
class Standing:
    """The submission that counts for one student on one assignment, with its result."""

    student: Student
    submission: Submission
    result: Result


class RosterError(ValueError):
    """A roster CSV without the `id,name,email` header or with an empty id."""


class Store:
    """Every read and write of the records; each method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session: sessionmaker[Session] = sessions(engine)

    # --- assignments -------------------------------------------------------------------------------

    def register_assignments(self, assignments: Iterable[spec.Assignment]) -> None:
        """Insert or refresh assignments from their specs (their policy, set by an instructor, is kept)."""
        with self.session.begin() as s:
            for a in assignments:
                row = s.get(Assignment, a.name) or Assignment(name=a.name, policy="latest")
                row.title, row.max_score, row.units = a.title, a.max_score, list(a.units)
                s.add(row)

    def assignment(self, name: str) -> Assignment | None:
        with self.session() as s:
            return s.get(Assignment, name)

    def assignments(self) -> list[Assignment]:
        with self.session() as s:
            return list(s.scalars(select(Assignment).order_by(Assignment.name)))

    def set_policy(self, name: str, policy: str) -> None:
        with self.session.begin() as s:
            s.get_one(Assignment, name).policy = policy

    # --- people and tokens ---------------------------------------------------------------------------

    def import_roster(self, csv_text: str) -> list[RosterEntry]:
        """Add the roster's new students with fresh tokens; students already known keep theirs."""
        rows = list(csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"))))
        if not rows or not {"id", "name", "email"} <= set(rows[0]):
            raise RosterError("the roster must be CSV with the header id,name,email")
        entries = []
        with self.session.begin() as s:
            for row in rows:
                sid = (row.get("id") or "").strip()
                if not sid:
                    raise RosterError("every roster line needs an id")
                student = s.get(Student, sid)
                token = None
                if student is None:
                    token = auth.new_token()
                    student = Student(id=sid, token_hash=auth.token_hash(token))
                    s.add(student)
                student.name, student.email = (row.get("name") or "").strip(), (row.get("email") or "").strip()
                entries.append(RosterEntry(sid, student.name, student.email, token))
        return entries

    def student_by_token_hash(self, token_hash: str) -> Student | None:
        with self.session() as s:
            return s.scalar(select(Student).where(Student.token_hash == token_hash))

    def student(self, student_id: str) -> Student | None:
        with self.session() as s:
            return s.get(Student, student_id)

    def students(self) -> list[Student]:
        with self.session() as s:
            return list(s.scalars(select(Student).order_by(Student.id)))

    def credential(self, role: str) -> str | None:
        with self.session() as s:
            row = s.get(Credential, role)
            return row.token_hash if row else None

    def set_credential(self, role: str, token_hash: str) -> None:
        with self.session.begin() as s:
            s.merge(Credential(role=role, token_hash=token_hash))

    # --- submissions ---------------------------------------------------------------------------------

    def submission(self, submission_id: str) -> Submission | None:
        with self.session() as s:
            return s.get(Submission, submission_id)

    def result(self, submission_id: str) -> Result | None:
        with self.session() as s:
            return s.scalar(select(Result).where(Result.submission_id == submission_id))

    def submissions(self, assignment: str | None = None, student: str | None = None) -> list[Submission]:
        """Newest first; filtered by assignment and/or student."""
        query = select(Submission).order_by(Submission.received_at.desc())
        if assignment:
            query = query.where(Submission.assignment == assignment)
        if student:
            query = query.where(Submission.student == student)
        with self.session() as s:
            return list(s.scalars(query))

    def received_since(self, student: str, since: datetime) -> list[datetime]:
        """When this student's recent submissions arrived (for the rate limit)."""
        with self.session() as s:
            return list(s.scalars(select(Submission.received_at).where(
                Submission.student == student, Submission.received_at >= since).order_by(Submission.received_at)))

    def latest_submissions(self, assignment: str) -> list[str]:
        """Each student's latest submission id on an assignment."""
        newest = (select(Submission.student, func.max(Submission.received_at).label("at"))
                  .where(Submission.assignment == assignment).group_by(Submission.student).subquery())
        query = select(Submission.id).join(newest, (Submission.student == newest.c.student)
                                           & (Submission.received_at == newest.c.at)).where(
            Submission.assignment == assignment)
        with self.session() as s:
            return list(s.scalars(query))

    def standings(self, assignment: Assignment) -> list[Standing]:
        """Per student, the graded submission that counts under the assignment's policy (latest or best)."""
        with self.session() as s:
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

    # --- what the queue looks like ----------------------------------------------------------------------

    def queue_position(self, submission: Submission) -> int:
        """How many submissions are ahead of this queued one (0: it is next)."""
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(Submission).where(
                Submission.status == "queued", Submission.queued_at < submission.queued_at)) or 0

    def typical_grading_seconds(self, recent: int = 20) -> float | None:
        with self.session() as s:
            times = list(s.scalars(select(Result.grading_seconds).order_by(Result.id.desc()).limit(recent)))
        return statistics.median(times) if times else None

    def status_counts(self) -> dict[str, int]:
        with self.session() as s:
            return dict(s.execute(select(Submission.status, func.count()).group_by(Submission.status)).all())

    def grading_seconds(self) -> list[float]:
        with self.session() as s:
            return list(s.scalars(select(Result.grading_seconds)))

    # --- workers ----------------------------------------------------------------------------------------

    def heartbeat(self, name: str, concurrency: int) -> None:
        """This worker is alive; workers silent for a day (killed, never said goodbye) are forgotten."""
        with self.session.begin() as s:
            s.execute(delete(Worker).where(Worker.seen_at < now() - timedelta(days=1)))
            row = s.get(Worker, name)
            if row is None:
                row = Worker(name=name, concurrency=concurrency, started_at=now())
            row.seen_at = now()
            s.add(row)

    def forget_worker(self, name: str) -> None:
        with self.session.begin() as s:
            s.execute(delete(Worker).where(Worker.name == name))

    def live_workers(self) -> list[Worker]:
        since = now() - timedelta(seconds=LIVE_WORKER_SECONDS)
        with self.session() as s:
            return list(s.scalars(select(Worker).where(Worker.seen_at >= since)))

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.session() as s:
            s.execute(select(1))
