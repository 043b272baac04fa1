"""The one task: grade a submission by id. Retried with backoff only when the database or broker is unreachable."""

from __future__ import annotations

from kombu.exceptions import OperationalError as BrokerError

from service import lifecycle
from service.db import UNREACHABLE
from service.models import DONE
from service.queue import TASK
from service.web import prepared
from workers.app import app, identity, publisher, settings, store

INFRASTRUCTURE_ERRORS = (*UNREACHABLE, BrokerError, ConnectionError)


@app.task(name=TASK, autoretry_for=INFRASTRUCTURE_ERRORS, retry_backoff=2, retry_backoff_max=60, max_retries=8,
          retry_jitter=True)
def grade_submission(submission_id: str) -> str:
    """Tasks carry only the id: the notebook is read from the database, so any machine can grade it. Once the
    result is recorded, what the pages show of it is made and stored (no page view renders or draws)."""
    outcome = lifecycle.grade(store(), publisher, settings(), submission_id, identity())
    if outcome == DONE:
        prepared.prepare(store(), submission_id)
    return outcome
