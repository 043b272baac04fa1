"""What the API shows of the records: the submission status object of the public contract (README)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime
from functools import cached_property
from typing import Any

from service.models import QUEUED, RECEIVED, RUNNING, Submission
from service.store import Store


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


class QueueView:
    """The queue as statuses show it (a queued submission's position and estimated wait, a received one's turns
    ahead), each fact read from the store once and only when a status needs it: a listing of hundreds of waiting
    submissions costs a few queries, not a few per row (a client polling it would hold a core). For one status
    (`listing` False: what each waiting student polls) a position is counted by the database instead of reading
    every queued time."""

    def __init__(self, store: Store, listing: bool = False) -> None:
        self.store, self.listing = store, listing
        self._turns: dict[str, _Turns] = {}

    @cached_property
    def _queued(self) -> list[datetime]:
        return self.store.queued_times()

    @cached_property
    def _pace(self) -> tuple[float | None, int]:
        """Recent grading seconds and the live workers' slots."""
        return self.store.typical_grading_seconds(), sum(w.concurrency for w in self.store.live_workers())

    def position(self, submission: Submission) -> int:
        """How many submissions are ahead of this queued one (0: it is next)."""
        if not self.listing:
            return self.store.queue_position(submission)
        return bisect_left(self._queued, submission.queued_at)

    def estimated_wait(self, position: int) -> float | None:
        """Seconds until a submission at `position` is graded: recent grading time x (work ahead / live slots)."""
        typical, slots = self._pace
        if typical is None or slots == 0:
            return None
        return round(typical * (position // slots + 1), 1)

    def turns_ahead(self, submission: Submission) -> int:
        """How many of the student's submissions come before this received one: queued, running, or received
        earlier."""
        if submission.student not in self._turns:
            self._turns[submission.student] = _Turns(self.store.turn_holders(submission.student))
        return self._turns[submission.student].ahead_of(submission.id, submission.received_at)


class _Turns:
    """One student's submissions that hold a turn or wait for one, sorted so that a listing of hundreds of
    them counts each one's turns ahead by bisection, not by a pass over all the others."""

    def __init__(self, holders: list[tuple[str, str, datetime]]) -> None:
        self.holding = {i for i, status, _ in holders if status in (QUEUED, RUNNING)}
        self.waiting = {i: received for i, status, received in holders if status == RECEIVED}
        self.times = sorted(self.waiting.values())

    def ahead_of(self, submission_id: str, received_at: datetime) -> int:
        """The turns held by the others, and the others waiting that were received no later."""
        waiting_no_later = bisect_right(self.times, received_at)
        own = self.waiting.get(submission_id)
        return (len(self.holding - {submission_id}) + waiting_no_later
                - (own is not None and own <= received_at))


def submission_status(store: Store, submission: Submission, with_report: bool = True,
                      staff: bool = False, queue: QueueView | None = None) -> dict[str, Any]:
    """`{"id", "assignment", "student", "status", "phases", "queue_position", "eta_seconds", "turn"[, "report"]}`;
    `turn` is `{"ahead": n}` while it waits its turn (received, n of the student's submissions before it); staff
    also see `graded_by` (the worker id and host of the last attempt). A listing passes one `queue` for all rows
    (`QueueView(store, listing=True)`)."""
    queue = QueueView(store) if queue is None else queue
    position = eta = None
    if submission.status == QUEUED and submission.queued_at is not None:
        position = queue.position(submission)
        eta = queue.estimated_wait(position)
    view: dict[str, Any] = {
        "id": submission.id, "assignment": submission.assignment, "student": submission.student,
        "status": submission.status,
        "phases": {"received": _iso(submission.received_at), "queued": _iso(submission.queued_at),
                   "started": _iso(submission.started_at), "finished": _iso(submission.finished_at)},
        "queue_position": position, "eta_seconds": eta,
        "turn": {"ahead": queue.turns_ahead(submission)} if submission.status == RECEIVED else None,
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
