"""Submissions: the stored notebooks, their reads, and each status change as one conditional UPDATE.

Which change happens when is service/lifecycle.py's story. Each method here writes one transition
atomically and says whether it applied, so of two processes attempting the same change one wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, sessionmaker, undefer

from service.clocks import database_now, db_now
from service.models import (
    DONE,
    FAILED,
    FINISHED,
    QUEUED,
    RECEIVED,
    RUNNING,
    Result,
    Student,
    Submission,
    UploadAttempt,
    Worker,
)


class RunningAttempt(NamedTuple):
    token: str | None
    worker: str | None       # host:pid
    worker_id: str | None    # the id its worker beats under


def _stale(before: datetime) -> ColumnElement[bool]:
    """In queued or running since before `before` (one received waits its turn: see `take_turns`)."""
    return or_(and_(Submission.status == QUEUED, Submission.queued_at < before),
               and_(Submission.status == RUNNING, Submission.started_at < before))


def _claimable(submission_id: str, stale_before: datetime, abandoned_token: str | None) -> ColumnElement[bool]:
    """Queued, or running but started before `stale_before`, or running under an attempt known abandoned."""
    takeover = and_(Submission.status == RUNNING, Submission.started_at < stale_before)
    if abandoned_token is not None:
        takeover = or_(takeover, and_(Submission.status == RUNNING, Submission.attempt_token == abandoned_token))
    return and_(Submission.id == submission_id, or_(Submission.status == QUEUED, takeover))


def _this_attempt(submission_id: str, token: str) -> ColumnElement[bool]:
    return and_(Submission.id == submission_id, Submission.status == RUNNING, Submission.attempt_token == token)


class SubmissionStates:
    sessions: sessionmaker[Session]

    # --- reads -------------------------------------------------------------------------------------

    def submission(self, submission_id: str) -> Submission | None:
        """One submission with its notebook's bytes."""
        with self.sessions() as s:
            return s.get(Submission, submission_id, options=[undefer(Submission.notebook)])

    def submissions(self, assignment: str | None = None, student: str | None = None) -> list[Submission]:
        """Newest first; filtered by assignment and/or student (without the notebooks' bytes)."""
        query = select(Submission).options(defer(Submission.notebook, raiseload=True)).order_by(
            Submission.received_at.desc(), Submission.id)
        if assignment:
            query = query.where(Submission.assignment == assignment)
        if student:
            query = query.where(Submission.student == student)
        with self.sessions() as s:
            return list(s.scalars(query))

    def latest_submissions(self, assignment: str) -> list[str]:
        """Each student's latest submission id on an assignment."""
        newest = (select(Submission.student, func.max(Submission.received_at).label("at"))
                  .where(Submission.assignment == assignment).group_by(Submission.student).subquery())
        query = select(Submission.id).join(newest, (Submission.student == newest.c.student)
                                           & (Submission.received_at == newest.c.at)).where(
            Submission.assignment == assignment)
        with self.sessions() as s:
            return list(s.scalars(query))

    def statuses(self, ids: set[str]) -> dict[str, str]:
        """The status of each of these submissions (one short query, by primary key: what long polls wait on)."""
        with self.sessions() as s:
            return {i: status for i, status in s.execute(
                select(Submission.id, Submission.status).where(Submission.id.in_(ids)))}

    def running_attempt(self, submission_id: str) -> RunningAttempt | None:
        """The attempt token and worker of a running submission (None when it is not running)."""
        with self.sessions() as s:
            row = s.execute(select(Submission.attempt_token, Submission.worker, Submission.worker_id).where(
                Submission.id == submission_id, Submission.status == RUNNING)).one_or_none()
        return RunningAttempt(*row) if row else None

    def waiting(self) -> list[tuple[str, str, RunningAttempt]]:
        """(id, status, attempt) of every submission queued or running, the longest waiting first."""
        with self.sessions() as s:
            return [(i, status, RunningAttempt(*attempt)) for i, status, *attempt in s.execute(
                select(Submission.id, Submission.status, Submission.attempt_token, Submission.worker,
                       Submission.worker_id)
                .where(Submission.status.in_((QUEUED, RUNNING))).order_by(Submission.received_at))]

    def students_waiting(self) -> list[str]:
        """Students with a submission received and not yet queued (waiting its turn)."""
        with self.sessions() as s:
            return list(s.scalars(select(Submission.student).where(Submission.status == RECEIVED).distinct()))

    def turn_holders(self, student: str) -> list[tuple[str, str, datetime]]:
        """(id, status, received_at) of the student's submissions that hold a turn (queued, running) or wait
        for one (received): what a waiting submission's place in the student's turns is counted from."""
        with self.sessions() as s:
            return [tuple(row) for row in s.execute(
                select(Submission.id, Submission.status, Submission.received_at).where(
                    Submission.student == student, Submission.status.in_((QUEUED, RUNNING, RECEIVED))))]

    def stale(self, before: datetime) -> list[str]:
        """Ids of the submissions in queued or running since before `before`."""
        with self.sessions() as s:
            return list(s.scalars(select(Submission.id).where(_stale(before))))

    def abandoned(self, alive_since: datetime) -> list[tuple[str, str, str]]:
        """(id, attempt token, worker id) of each running submission whose worker has not beaten since
        `alive_since` (killed, or cut off from the database): the broker will not hand its message on for a
        visibility timeout, so it is as good as lost."""
        alive = select(Worker.name).where(Worker.seen_at >= alive_since)
        with self.sessions() as s:
            return [tuple(row) for row in s.execute(
                select(Submission.id, Submission.attempt_token, Submission.worker_id).where(
                    Submission.status == RUNNING, Submission.attempt_token.is_not(None),
                    Submission.worker_id.is_not(None), Submission.worker_id.not_in(alive)))]

    # --- the transitions ---------------------------------------------------------------------------

    def admit_upload(self, student: str, window: timedelta, limit: int) -> float | None:
        """Count an upload attempt, as one atomic step with the check that fewer than `limit` were made in the
        last `window` by the database's clock (several API machines admit uploads for one student; their own
        clocks may disagree). The student's row is locked on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises
        writers. None when admitted; else the seconds until the oldest counted attempt ages out."""
        with self.sessions.begin() as s:
            s.execute(select(Student.id).where(Student.id == student).with_for_update())
            clock = database_now(s)
            s.execute(delete(UploadAttempt).where(UploadAttempt.student == student, UploadAttempt.at < clock - window))
            recent = list(s.scalars(select(UploadAttempt.at).where(UploadAttempt.student == student)
                                    .order_by(UploadAttempt.at)))
            if len(recent) >= limit:
                return (recent[-limit] + window - clock).total_seconds()
            s.add(UploadAttempt(student=student, at=clock))
            return None

    def add_received(self, submission: Submission) -> None:
        """A new submission, with its bytes, in status `received`."""
        with self.sessions.begin() as s:
            s.add(submission)

    def take_turns(self, student: str, limit: int) -> list[str]:
        """The student's oldest received submissions -> queued, as many as leave at most `limit` of theirs queued
        or running, in one transaction (the student's row locked on PostgreSQL); the ids moved, oldest first."""
        with self.sessions.begin() as s:
            s.execute(select(Student.id).where(Student.id == student).with_for_update())
            active = s.scalar(select(func.count()).select_from(Submission).where(
                Submission.student == student, Submission.status.in_((QUEUED, RUNNING)))) or 0
            if active >= limit:
                return []
            ids = list(s.scalars(select(Submission.id).where(Submission.student == student,
                                                            Submission.status == RECEIVED)
                                 .order_by(Submission.received_at, Submission.id).limit(limit - active)))
            if ids:
                s.execute(update(Submission).where(Submission.id.in_(ids), Submission.status == RECEIVED)
                          .values(status=QUEUED, queued_at=db_now()))
            return ids

    def requeue_finished(self, submission_id: str) -> bool:
        """done|failed -> queued with its attempts reset. Its result stays until a new one replaces it."""
        with self.sessions.begin() as s:
            return bool(s.execute(update(Submission).where(Submission.id == submission_id,
                                                           Submission.status.in_(FINISHED))
                                  .values(status=QUEUED, queued_at=db_now(), started_at=None, finished_at=None,
                                          attempts=0, attempt_token=None, worker=None, error=None)).rowcount)

    def requeue_stale(self, submission_id: str, before: datetime) -> bool:
        """Still stale (see `stale`) -> queued, its attempt token withdrawn."""
        with self.sessions.begin() as s:
            return bool(s.execute(update(Submission).where(Submission.id == submission_id, _stale(before))
                                  .values(status=QUEUED, queued_at=db_now(), attempt_token=None)).rowcount)

    def give_up(self, submission_id: str, stale_before: datetime, abandoned_token: str | None,
                max_attempts: int, error: str) -> bool:
        """Claimable but out of attempts -> failed."""
        with self.sessions.begin() as s:
            return bool(s.execute(update(Submission).where(
                _claimable(submission_id, stale_before, abandoned_token), Submission.attempts >= max_attempts)
                .values(status=FAILED, finished_at=db_now(), attempt_token=None, error=error)).rowcount)

    def start_attempt(self, submission_id: str, token: str, worker: tuple[str, str], stale_before: datetime,
                      abandoned_token: str | None, max_attempts: int) -> Submission | None:
        """Claimable with attempts left -> running under `token`, one attempt more; the row as it is now."""
        with self.sessions.begin() as s:
            moved = s.execute(update(Submission).where(
                _claimable(submission_id, stale_before, abandoned_token), Submission.attempts < max_attempts)
                .values(status=RUNNING, attempt_token=token, attempts=Submission.attempts + 1, started_at=db_now(),
                        worker_id=worker[0], worker=worker[1])).rowcount
            return s.get(Submission, submission_id, populate_existing=True,
                         options=[undefer(Submission.notebook)]) if moved else None

    def finish_attempt(self, submission_id: str, token: str, result: Result) -> bool:
        """running under `token` -> done, with its one result replacing any earlier one (a regrade's), in one
        transaction; False if the attempt was overtaken (its token gone) or another result was inserted
        meanwhile (the unique constraint, the last defence)."""
        try:
            with self.sessions.begin() as s:
                if not s.execute(update(Submission).where(_this_attempt(submission_id, token)).values(
                        status=DONE, finished_at=db_now(), attempt_token=None, error=None)).rowcount:
                    return False
                s.execute(delete(Result).where(Result.submission_id == submission_id))
                s.add(result)
        except IntegrityError:
            return False
        return True

    def return_attempt(self, submission_id: str, token: str, error: str, counted: bool) -> bool:
        """running under `token` -> queued again for another worker, saying why; the attempt stays counted
        (towards the give-up) when `counted`."""
        with self.sessions.begin() as s:
            return bool(s.execute(update(Submission).where(_this_attempt(submission_id, token)).values(
                status=QUEUED, queued_at=db_now(), attempt_token=None, error=error,
                attempts=Submission.attempts - (0 if counted else 1))).rowcount)

    def fail_attempt(self, submission_id: str, token: str, error: str) -> bool:
        """running under `token` -> failed (a result from an earlier grading, if any, is kept)."""
        with self.sessions.begin() as s:
            return bool(s.execute(update(Submission).where(_this_attempt(submission_id, token)).values(
                status=FAILED, finished_at=db_now(), attempt_token=None, error=error)).rowcount)
