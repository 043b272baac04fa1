"""Operations: /healthz (database, broker, a live worker) and /metrics (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from service.lifecycle import DONE, FAILED, QUEUED, RECEIVED, RUNNING
from service.services import Deps

router = APIRouter(tags=["operations"])

BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300)


@router.get("/healthz")
def healthz(deps: Deps) -> Response:
    """200 when the database and the broker answer and at least one worker is alive; 503 and what is wrong otherwise."""
    try:
        deps.store.ping()
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        database = f"down: {type(exc).__name__}"
    broker = "ok" if deps.publisher.ping() else "down"
    workers = len(deps.store.live_workers()) if database == "ok" else 0
    healthy = database == "ok" and broker == "ok" and workers > 0
    return JSONResponse({"status": "ok" if healthy else "unhealthy", "database": database, "broker": broker,
                         "workers": workers}, status_code=200 if healthy else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(deps: Deps) -> str:
    counts = deps.store.status_counts()
    seconds = deps.store.grading_seconds()
    workers = deps.store.live_workers()
    depth = deps.publisher.depth()
    lines = ["# HELP grader_queue_depth Messages waiting in the broker's grading queue.",
             "# TYPE grader_queue_depth gauge", f"grader_queue_depth {depth if depth is not None else 'NaN'}",
             "# HELP grader_submissions Submissions by status.", "# TYPE grader_submissions gauge"]
    lines += [f'grader_submissions{{status="{s}"}} {counts.get(s, 0)}'
              for s in (RECEIVED, QUEUED, RUNNING, DONE, FAILED)]
    lines += ["# HELP grader_grading_seconds Time to grade one submission on a worker.",
              "# TYPE grader_grading_seconds histogram"]
    lines += [f'grader_grading_seconds_bucket{{le="{b}"}} {sum(1 for x in seconds if x <= b)}' for b in BUCKETS]
    lines += [f'grader_grading_seconds_bucket{{le="+Inf"}} {len(seconds)}',
              f"grader_grading_seconds_sum {sum(seconds):.6f}", f"grader_grading_seconds_count {len(seconds)}",
              "# HELP grader_workers Live Celery workers (heartbeat within 45 s).", "# TYPE grader_workers gauge",
              f"grader_workers {len(workers)}",
              "# HELP grader_worker_slots Tasks the live workers can run at once.", "# TYPE grader_worker_slots gauge",
              f"grader_worker_slots {sum(w.concurrency for w in workers)}"]
    return "\n".join(lines) + "\n"
