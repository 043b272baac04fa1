"""The broker: one Celery configuration shared by the API (which publishes) and the workers (which consume)."""

from __future__ import annotations

import base64
import json
import logging

from celery import Celery

from service.settings import ServiceSettings

TASK = "grader.grade_submission"
QUEUE = "grading"
DEFAULT_WALL_SECONDS = 120.0

log = logging.getLogger(__name__)


def time_limits(wall_seconds: float) -> tuple[float, float]:
    """Celery's soft and hard limits for a task whose sandbox may run `wall_seconds`: a margin above it for
    the grading done outside the sandbox (a minute, or the wall limit itself when that is shorter)."""
    margin = min(60.0, wall_seconds)
    return wall_seconds + margin / 2, wall_seconds + margin


def visibility_timeout(wall_seconds: float) -> int:
    """Seconds before Redis hands an unacknowledged message to another worker: longer than a reserved task may
    wait behind the one running (prefetch 1) plus its own run, both at the hard limit, so a live worker's task
    is never handed on; a killed machine's message returns after this, not after an hour."""
    return int(2 * time_limits(wall_seconds)[1] + 60)


def refuse_short_requeue(requeue_after: float, walls: dict[str, float]) -> None:
    """Stop at start (SystemExit, saying what to set) when GRADER_REQUEUE_AFTER is shorter than the longest a
    live grading may run: the reconciler would hand gradings still running to a second worker."""
    if not walls:
        return
    name = max(walls, key=walls.__getitem__)
    longest = time_limits(walls[name])[1]
    if requeue_after < longest:
        raise SystemExit(
            f"GRADER_REQUEUE_AFTER={requeue_after:g} is shorter than {longest:g} s, the longest a grading may run "
            f"(assignment {name!r}: wall_seconds {walls[name]:g} + {longest - walls[name]:g} s outside the "
            f"sandbox): the reconciler would take over gradings still running. Set it to at least {longest:g}.")


def celery_app(settings: ServiceSettings, wall_seconds: float = DEFAULT_WALL_SECONDS) -> Celery:
    """Late acks, requeue on a lost worker, one task at a time per process, limits above the sandbox's own."""
    if not settings.broker_url:
        raise RuntimeError("GRADER_BROKER_URL is not set (e.g. redis://host:6379/0)")
    app = Celery("grader", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=time_limits(wall_seconds)[0],
        task_time_limit=time_limits(wall_seconds)[1],
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout(wall_seconds)},
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


class CeleryPublisher:
    """Publishes `grade_submission(id)`; a broker that is down is logged, never raised to the uploader."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def send(self, submission_id: str) -> bool:
        try:
            self.app.send_task(TASK, args=[submission_id], queue=QUEUE)
        except Exception as exc:  # noqa: BLE001 - the submission is stored; the reconciler will resend it
            log.warning("could not publish submission %s (%s); the reconciler will resend it", submission_id, exc)
            return False
        return True

    def waiting(self) -> set[str] | None:
        """The submission ids whose messages wait in the broker's queue (None if the broker does not answer):
        what the reconciler must not publish again."""
        try:
            with self.app.connection_for_write() as conn:
                raw = conn.default_channel.client.lrange(QUEUE, 0, -1)
        except Exception:  # noqa: BLE001 - unknown: the reconciler resends as before
            return None
        return {json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in raw}

    def depth(self) -> int | None:
        """Messages waiting in the broker's queue (None if the broker does not answer)."""
        try:
            with self.app.connection_for_write() as conn:
                return conn.default_channel.client.llen(QUEUE)
        except Exception:  # noqa: BLE001 - reported as unknown
            return None

    def ping(self) -> bool:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            return True
        except Exception:  # noqa: BLE001 - reported as down
            return False
