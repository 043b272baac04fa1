"""Operations: /healthz (database, broker, a live worker) and /metrics (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.services import ServicesDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(services: ServicesDep) -> Response:
    """200 when the database and the broker answer and at least one worker is alive; 503 and what is wrong otherwise."""
    try:
        services.store.ping()
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        database = f"down: {type(exc).__name__}"
    broker = "ok" if services.publisher.ping() else "down"
    workers = sum(w.concurrency > 0 for w in services.store.live_workers()) if database == "ok" else 0  # taking tasks
    healthy = database == "ok" and broker == "ok" and workers > 0
    return JSONResponse({"status": "ok" if healthy else "unhealthy", "database": database, "broker": broker,
                         "workers": workers}, status_code=200 if healthy else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(services: ServicesDep) -> Response:
    """Queue depth, submissions by status, the grading-time histogram, live workers and their slots."""
    return Response(generate_latest(services.metrics), media_type=CONTENT_TYPE_LATEST)
