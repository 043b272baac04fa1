"""A submission's life: received (stored) -> queued -> running -> done | failed. Every status change is here.

Exactly once, in short: a worker may grade only after `claim` moved the submission to `running` under a
fresh attempt token, and may record only while that token is still the submission's (`record` is one
conditional UPDATE plus the INSERT of the result, in one transaction; the results table allows one row
per submission). A second delivery of the same task finds `running` (not stale) or `done` and returns;
an attempt overtaken by the reconciler finds its token gone and records nothing. An attempt whose worker
process died on this machine is taken over at once when Celery redelivers its task.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import version
from typing import Protocol

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from grader import pipeline
from service import course
from service.models import Result, Submission, now
from service.settings import ServiceSettings
from service.store import Store

RECEIVED, QUEUED, RUNNING, DONE, FAILED = "received", "queued", "running", "done", "failed"
FINISHED = (DONE, FAILED)


class Publisher(Protocol):
    """Hands a submission id to the broker; False when the broker could not take it (the reconciler retries)."""

    def send(self, submission_id: str) -> bool: ...


@dataclass(frozen=True)
class Claim:
    submission: Submission
    token: str


# --- the API side ---------------------------------------------------------------------------------------

def receive(store: Store, student: str, assignment: str, filename: str, notebook: bytes) -> Submission:
    """Store the notebook's bytes (status `received`): once this returns, the submission cannot be lost."""
    submission = Submission(
        id=uuid.uuid4().hex, assignment=assignment, student=student, filename=filename, notebook=notebook,
        sha256=hashlib.sha256(notebook).hexdigest(), seed=pipeline.new_seed(), status=RECEIVED,
        received_at=now(), attempts=0)
    with store.session.begin() as s:
        s.add(submission)
    return submission


def enqueue(store: Store, publisher: Publisher, submission_id: str) -> None:
    """received -> queued, then publish. The status is written first: a lost message is found by `reconcile`."""
    with store.session.begin() as s:
        s.execute(update(Submission).where(Submission.id == submission_id, Submission.status.in_((RECEIVED, QUEUED)))
                  .values(status=QUEUED, queued_at=now()))
    publisher.send(submission_id)


def regrade(store: Store, publisher: Publisher, submission_id: str) -> bool:
    """done|failed -> queued with its result removed (same seed); False if it is not finished."""
    with store.session.begin() as s:
        moved = s.execute(update(Submission).where(Submission.id == submission_id, Submission.status.in_(FINISHED))
                          .values(status=QUEUED, queued_at=now(), started_at=None, finished_at=None, attempts=0,
                                  attempt_token=None, worker=None, error=None)).rowcount
        if moved:
            s.execute(delete(Result).where(Result.submission_id == submission_id))
    if moved:
        publisher.send(submission_id)
    return bool(moved)


def reconcile(store: Store, publisher: Publisher, requeue_after: float) -> list[str]:
    """Re-enqueue what has waited too long in received/queued/running (lost message, dead worker)."""
    cutoff = now() - timedelta(seconds=requeue_after)
    stale = or_(and_(Submission.status == RECEIVED, Submission.received_at < cutoff),
                and_(Submission.status == QUEUED, Submission.queued_at < cutoff),
                and_(Submission.status == RUNNING, Submission.started_at < cutoff))
    with store.session() as s:
        candidates = list(s.scalars(select(Submission.id).where(stale)))
    resent = []
    for submission_id in candidates:
        with store.session.begin() as s:   # one sweeper wins each submission, even with several API processes
            moved = s.execute(update(Submission).where(Submission.id == submission_id, stale)
                              .values(status=QUEUED, queued_at=now(), attempt_token=None)).rowcount
        if moved:
            publisher.send(submission_id)
            resent.append(submission_id)
    return resent


# --- the worker side ------------------------------------------------------------------------------------

def claim(store: Store, submission_id: str, worker: str, settings: ServiceSettings) -> Claim | None:
    """queued (or running but stale, or abandoned) -> running under a fresh attempt token; None if not ours."""
    cutoff = now() - timedelta(seconds=settings.requeue_after)
    takeover = and_(Submission.status == RUNNING, Submission.started_at < cutoff)
    token = secrets.token_hex(16)
    with store.session.begin() as s:
        current = s.get(Submission, submission_id)
        if current is not None and current.status == RUNNING and _abandoned(current.worker):
            takeover = or_(takeover, and_(Submission.status == RUNNING,
                                          Submission.attempt_token == current.attempt_token))
        claimable = and_(Submission.id == submission_id, or_(Submission.status == QUEUED, takeover))
        gave_up = s.execute(update(Submission).where(claimable, Submission.attempts >= settings.max_attempts)
                            .values(status=FAILED, finished_at=now(), attempt_token=None,
                                    error=f"gave up after {settings.max_attempts} attempts")).rowcount
        if gave_up:
            return None
        moved = s.execute(update(Submission).where(claimable).values(
            status=RUNNING, attempt_token=token, attempts=Submission.attempts + 1, started_at=now(),
            worker=worker)).rowcount
        submission = s.get(Submission, submission_id, populate_existing=True) if moved else None
    return Claim(submission, token) if submission else None


def _abandoned(worker: str | None) -> bool:
    """The attempt's worker process was on this machine and is gone (killed mid-task): no need to wait for
    the reconciler's deadline when Celery redelivers its task here."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def record(store: Store, claim: Claim, report: dict, seconds: float) -> bool:
    """running (this attempt) -> done, with its one result; False if this attempt was overtaken."""
    try:
        with store.session.begin() as s:
            moved = s.execute(update(Submission).where(
                Submission.id == claim.submission.id, Submission.status == RUNNING,
                Submission.attempt_token == claim.token).values(status=DONE, finished_at=now(), attempt_token=None,
                                                                 error=None)).rowcount
            if not moved:
                return False
            s.add(Result(submission_id=claim.submission.id, score=report["score"], max_score=report["max_score"],
                         unit_scores={name: u["score"] for name, u in report["units"].items()}, report=report,
                         grading_seconds=seconds, grader_version=version("nn-grader"), recorded_at=now()))
    except IntegrityError:   # a result already exists: the unique constraint is the last line of defence
        return False
    return True


def fail(store: Store, claim: Claim, error: str) -> bool:
    """running (this attempt) -> failed: the grader could not produce a report (never the student's fault)."""
    with store.session.begin() as s:
        return bool(s.execute(update(Submission).where(
            Submission.id == claim.submission.id, Submission.status == RUNNING,
            Submission.attempt_token == claim.token).values(status=FAILED, finished_at=now(), attempt_token=None,
                                                             error=error[:2000])).rowcount)


def grade(store: Store, settings: ServiceSettings, submission_id: str, worker: str) -> str:
    """The worker's whole job for one task: claim, grade the stored bytes with the core, record once."""
    claimed = claim(store, submission_id, worker, settings)
    if claimed is None:
        return "skipped"
    submission = claimed.submission
    assignment = course.specs(settings.assignments_dir).get(submission.assignment)
    if assignment is None:
        fail(store, claimed, f"assignment {submission.assignment!r} is not installed on worker {worker}")
        return FAILED
    started = time.monotonic()
    try:
        report = pipeline.grade_bytes(submission.notebook, submission.filename, assignment, settings.grader,
                                      seed=submission.seed)
    except Exception as exc:  # noqa: BLE001 - the grader's own failure; the submission says why
        fail(store, claimed, f"internal error: {exc!r}")
        return FAILED
    return DONE if record(store, claimed, report.to_dict(), time.monotonic() - started) else "overtaken"
