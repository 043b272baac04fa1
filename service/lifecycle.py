"""A submission's life: received (stored) -> queued -> running -> done | failed. Every status change is decided
here, and written by the store method named after it (service/store/submission_states.py).

Exactly once, in short: a worker may grade only after `claim` moved the submission to `running` under a
fresh attempt token, and may record only while that token is still the submission's (`record` is one
conditional UPDATE plus the INSERT of the result, replacing a regraded one, in one transaction; the
results table allows one row per submission). A second delivery of the same task finds `running` (not
stale) or `done` and returns; an attempt overtaken by the reconciler finds its token gone and records
nothing. An attempt is abandoned, and taken over by any machine its task reaches, when its worker (the id
it registered) has not beaten for LIVE_WORKER_SECONDS, or when its process is gone from a live worker on
the same machine (same kernel and PID namespace: its PIDs mean the same here); the reconciler hands the
first kind back to the queue at its next sweep, since the broker holds their messages unacknowledged by a
dead consumer. A result finished while the database was unreachable is recorded once it is back, if its
attempt is still the submission's. Every deadline is computed from the database's clock. A worker grades
only assignments it has in their registered version; a grading that fails for the grader's own reason (its
sandbox) goes back to the queue for another worker.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Protocol

from grader import pipeline
from service import assignments, lateness, summaries
from service.clocks import now
from service.db import UNREACHABLE
from service.models import DEFAULT_COURSE, DONE, FAILED, QUEUED, RECEIVED, Result, Submission
from service.settings import ServiceSettings
from service.store import LIVE_WORKER_SECONDS, RunningAttempt, Store

RETURNED = "returned"                     # a grading the grader's own fault broke, back in the queue
GAVE_UP = "failed after grader faults"    # the same, with no attempt left: failed, saying why
GRADER_FAULTS = (RETURNED, GAVE_UP)       # outcomes after which the worker checks its own sandbox


class Publisher(Protocol):
    """Hands a submission id to the broker; False when the broker could not take it (the reconciler retries)."""

    def send(self, submission_id: str) -> bool: ...

    def waiting(self) -> set[str] | None:
        """Ids whose messages wait in the broker (None: it cannot tell)."""
        ...


@dataclass(frozen=True)
class Claim:
    submission: Submission
    token: str


@cache
def this_machine() -> str:
    """Which PIDs mean the same as ours: the kernel's boot and this PID namespace (hostnames may repeat)."""
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return f"{boot}:{os.stat('/proc/self/ns/pid').st_ino}"


@dataclass(frozen=True)
class WorkerIdentity:
    """Who grades: the unique id its worker registered with its heartbeat, and this process on its host."""

    id: str
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    @property
    def process(self) -> str:
        return f"{self.host}:{self.pid}"


# --- the API side ---------------------------------------------------------------------------------------

def receive(store: Store, student: str, assignment: str, filename: str, notebook: bytes,
            course: str = DEFAULT_COURSE, dates: lateness.Dates | None = None) -> Submission:
    """Store the notebook's bytes (status `received`), with its late days at receipt against the student's own
    `dates`: once this returns, the submission cannot be lost."""
    received = store.clock()
    submission = Submission(
        id=uuid.uuid4().hex, course=course, assignment=assignment, student=student, filename=filename,
        notebook=notebook, sha256=hashlib.sha256(notebook).hexdigest(), seed=pipeline.new_seed(), status=RECEIVED,
        received_at=received, attempts=0, late_days=lateness.late_days(received, dates.due if dates else None))
    store.add_received(submission)
    return submission


def take_turns(store: Store, publisher: Publisher, student: str, limit: int) -> list[str]:
    """received -> queued, then publish, for the student's oldest waiting submissions while fewer than `limit` of
    theirs are queued or running; the rest wait their turn (still `received`). Called when one arrives and when
    one of theirs finishes, so the broker's line holds at most `limit` per student and each finished grading
    sends that student's next one to the back of it: students take turns, and one student's hanging notebooks
    hold at most `limit` worker slots. The status is written first: a lost message is found by `reconcile`."""
    moved = store.take_turns(student, limit)
    for submission_id in moved:
        publisher.send(submission_id)
    return moved


def regrade(store: Store, publisher: Publisher, submission_id: str, actor: str = "admin",
            course: str = DEFAULT_COURSE) -> bool:
    """done|failed -> queued (same seed), in the course's audit log under `actor`; False if it is not finished.
    The result it has stays, in the gradebook too, until the regrade records its replacement (`record`); a
    regrade that fails keeps it."""
    moved = store.requeue_finished(submission_id)
    if moved:
        store.append_audit(course, actor, "regrade", submission_id)
        publisher.send(submission_id)
    return moved


def regrade_latest(store: Store, publisher: Publisher, assignment: str, actor: str = "admin") -> list[str]:
    """Regrade each student's latest submission on the assignment that is finished; the ids regraded."""
    return [i for i in store.latest_submissions(assignment) if regrade(store, publisher, i, actor)]


def reconcile(store: Store, publisher: Publisher, requeue_after: float, limit: int) -> list[str]:
    """Re-enqueue what the broker has really lost: an attempt whose worker stopped beating (its message is held
    unacknowledged by a dead consumer), and what has waited in queued/running past `requeue_after` without a
    message in the broker's queue; then give every student with submissions waiting their turn the turns they
    are owed (one a worker finished without handing on)."""
    clock = store.clock()
    before = clock - timedelta(seconds=requeue_after)
    resent = []
    for submission_id, token, worker_id in store.abandoned(clock - timedelta(seconds=LIVE_WORKER_SECONDS)):
        why = f"worker {worker_id} stopped beating mid-grading; taken over"
        if store.return_attempt(submission_id, token, why, counted=True):
            publisher.send(submission_id)
            resent.append(submission_id)
    held = publisher.waiting() or set()    # only waiting in a long queue: not lost, not resent
    for submission_id in store.stale(before):   # one sweeper wins each, even with several API processes
        if submission_id not in held and store.requeue_stale(submission_id, before):
            publisher.send(submission_id)
            resent.append(submission_id)
    for student in store.students_waiting():
        resent += take_turns(store, publisher, student, limit)
    return resent


def resend_waiting(store: Store, publisher: Publisher) -> list[str]:
    """After the broker or a worker process died: publish again every queued submission and every running one
    whose attempt is abandoned (the messages they held may be lost or stuck unacknowledged).
    A duplicate is harmless: `claim` lets one delivery grade; the ids sent."""
    return [i for i, status, attempt in store.waiting()
            if (status == QUEUED or _abandoned(store, attempt)) and publisher.send(i)]


# --- the worker side ------------------------------------------------------------------------------------

def claim(store: Store, submission_id: str, worker: WorkerIdentity, settings: ServiceSettings) -> Claim | None:
    """queued (or running but stale, or abandoned) -> running under a fresh attempt token; None if not ours.
    One that has used up its attempts is failed instead."""
    stale_before = store.clock() - timedelta(seconds=settings.requeue_after)
    running = store.running_attempt(submission_id)
    abandoned = running.token if running is not None and _abandoned(store, running) else None
    if store.give_up(submission_id, stale_before, abandoned, settings.max_attempts,
                     error=f"gave up after {settings.max_attempts} attempts"):
        return None
    token = secrets.token_hex(16)
    submission = store.start_attempt(submission_id, token, (worker.id, worker.process), stale_before, abandoned,
                                     settings.max_attempts)
    return Claim(submission, token) if submission else None


def _abandoned(store: Store, attempt: RunningAttempt) -> bool:
    """Its worker stopped beating (killed, cut off), or it is live on this machine and the attempt's process is
    gone (a pool process killed mid-task): no need to wait for the reconciler's deadline."""
    if attempt.worker_id is None:
        return False
    live = store.live_worker(attempt.worker_id)
    if live is None:
        return True
    pid = (attempt.worker or "").rpartition(":")[2]
    if live.machine != this_machine() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def record(store: Store, claim: Claim, report: dict, seconds: float) -> bool:
    """running (this attempt) -> done, with its one result and the summary the lists read; False if this
    attempt was overtaken."""
    result = Result(submission_id=claim.submission.id, **summaries.columns(report), report=report,
                    grading_seconds=seconds, grader_version=version("nn-grader"), recorded_at=now())
    return store.finish_attempt(claim.submission.id, claim.token, result)


def fail(store: Store, claim: Claim, error: str) -> bool:
    """running (this attempt) -> failed: the grader could not produce a report (never the student's fault)."""
    return store.fail_attempt(claim.submission.id, claim.token, error[:2000])


def _pass_on(store: Store, publisher: Publisher, claimed: Claim, worker: WorkerIdentity) -> str:
    """An assignment this worker lacks in its registered version: back to the queue while a live worker has it."""
    name = claimed.submission.assignment
    why = f"worker {worker.id} on {worker.host} lacks assignment {name!r} in its registered version"
    if any(w.name != worker.id and name in (w.serves or ()) for w in store.live_workers()) and \
            store.return_attempt(claimed.submission.id, claimed.token, why, counted=False):
        publisher.send(claimed.submission.id)
        return "passed on"
    fail(store, claimed, f"{why}, nor does any live worker")
    return FAILED


def grade(store: Store, publisher: Publisher, settings: ServiceSettings, submission_id: str,
          worker: WorkerIdentity) -> str:
    """The worker's whole job for one task: claim, grade the stored bytes with the core, record once. An
    assignment this worker lacks in its registered version goes back to the queue while a live worker has it
    (else it fails, saying so); a grading its sandbox broke goes back for another worker (counted: after
    GRADER_MAX_ATTEMPTS it fails with the reason). Neither is ever recorded as the student's score. Then the
    student's next waiting submission takes its turn."""
    claimed = claim(store, submission_id, worker, settings)
    if claimed is None:
        return "skipped"
    try:
        return _grade_claimed(store, publisher, settings, claimed, worker)
    finally:
        take_turns(store, publisher, claimed.submission.student, settings.max_active_per_student)


def _grade_claimed(store: Store, publisher: Publisher, settings: ServiceSettings, claimed: Claim,
                   worker: WorkerIdentity) -> str:
    submission = claimed.submission
    assignment = assignments.specs(settings.assignments_dir).get(submission.assignment)
    if submission.assignment not in assignments.served(store, settings.assignments_dir)[0] or assignment is None:
        return _pass_on(store, publisher, claimed, worker)
    started = time.monotonic()
    try:
        report = pipeline.grade_bytes(submission.notebook, submission.filename, assignment, settings.grader,
                                      seed=submission.seed)
    except Exception as exc:  # noqa: BLE001 - the grader's own failure; the submission says why
        report = None
        error = f"internal error on worker {worker.id} ({worker.host}): {exc!r}"
    else:
        error = f"grader fault on worker {worker.id} ({worker.host}): {report.error}" if report.grader_fault else ""
    if error:
        if submission.attempts < settings.max_attempts and store.return_attempt(
                submission.id, claimed.token, error, counted=True):
            publisher.send(submission.id)
            return RETURNED
        fail(store, claimed, error)
        return GAVE_UP
    seconds, report_dict = time.monotonic() - started, report.to_dict()
    recorded = _persisting(lambda: record(store, claimed, report_dict, seconds), patience=settings.requeue_after)
    return DONE if recorded else "overtaken"


def _persisting(write: Callable[[], bool], patience: float) -> bool:
    """A finished attempt's write, tried again while the database is unreachable (a cut link) for up to `patience`
    seconds: a late result of an attempt still the submission's is recorded, not graded again; one overtaken
    meanwhile finds its token gone (False)."""
    deadline, delay = time.monotonic() + patience, 1.0
    while True:
        try:
            return write()
        except UNREACHABLE:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(2 * delay, 15.0)
