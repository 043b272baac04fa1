"""The one task: grade a submission by id. Retried with backoff only when the database or broker is unreachable."""

from __future__ import annotations

from kombu.exceptions import OperationalError as BrokerError

from service import lifecycle
from service.db import UNREACHABLE
from service.models import DONE
from service.queue import TASK
from service.web import prepared
from workers.app import after_grader_fault, app, identity, publisher, settings, store

INFRASTRUCTURE_ERRORS = (*UNREACHABLE, BrokerError, ConnectionError)


class _AfterTheTask:
    """A publisher that sends what the task hands on once the task is over, after the worker decided whether it
    still consumes: a grading its broken sandbox handed back is then not fetched again by the same worker."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def send(self, submission_id: str) -> bool:
        self.ids.append(submission_id)
        return True

    def waiting(self) -> set[str] | None:
        return publisher.waiting()

    def flush(self) -> None:
        for submission_id in self.ids:
            publisher.send(submission_id)


@app.task(name=TASK, autoretry_for=INFRASTRUCTURE_ERRORS, retry_backoff=2, retry_backoff_max=60, max_retries=8,
          retry_jitter=True)
def grade_submission(submission_id: str) -> str:
    """Tasks carry only the id: the notebook is read from the database, so any machine can grade it. Once the
    result is recorded, what the pages show of it is made and stored (no page view renders or draws). After a
    grading the grader's own fault broke, the worker checks its sandbox and stops consuming if it is broken."""
    handed_on = _AfterTheTask()
    try:
        outcome = lifecycle.grade(store(), handed_on, settings(), submission_id, identity())
        if outcome == DONE:
            prepared.prepare(store(), submission_id)
        elif outcome in lifecycle.GRADER_FAULTS:
            after_grader_fault()
    finally:
        handed_on.flush()
    return outcome
