"""What the API shows of the records: the submission status object of the public contract (README)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.models import QUEUED, RECEIVED, Submission
from service.store import Store


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


def submission_status(store: Store, submission: Submission, with_report: bool = True,
                      staff: bool = False) -> dict[str, Any]:
    """`{"id", "assignment", "student", "status", "phases", "queue_position", "eta_seconds", "turn"[, "report"]}`;
    `turn` is `{"ahead": n}` while it waits its turn (received, n of the student's submissions before it); staff
    also see `graded_by` (the worker id and host of the last attempt)."""
    position = eta = None
    if submission.status == QUEUED and submission.queued_at is not None:
        position = store.queue_position(submission)
        eta = estimated_wait(store, position)
    view: dict[str, Any] = {
        "id": submission.id, "assignment": submission.assignment, "student": submission.student,
        "status": submission.status,
        "phases": {"received": _iso(submission.received_at), "queued": _iso(submission.queued_at),
                   "started": _iso(submission.started_at), "finished": _iso(submission.finished_at)},
        "queue_position": position, "eta_seconds": eta,
        "turn": {"ahead": store.turns_ahead(submission)} if submission.status == RECEIVED else None,
    }
    if submission.error:
        view["error"] = submission.error
    if staff:
        view["graded_by"] = graded_by(submission)
    if with_report:     # a regrade keeps the result it replaces until the new one is recorded
        result = store.result(submission.id)
        view["report"] = result.report if result else None
    return view


def graded_by(submission: Submission) -> dict[str, str] | None:
    """Which worker ran the submission's last attempt: its registered id and its host (None: none yet)."""
    if submission.worker_id is None:
        return None
    return {"worker_id": submission.worker_id, "host": (submission.worker or "").rpartition(":")[0]}


def estimated_wait(store: Store, position: int) -> float | None:
    """Seconds until a submission at `position` is graded: recent grading time x (work ahead / live slots)."""
    typical = store.typical_grading_seconds()
    slots = sum(w.concurrency for w in store.live_workers())
    if typical is None or slots == 0:
        return None
    return round(typical * (position // slots + 1), 1)
