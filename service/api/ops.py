"""Operations: /healthz (database, broker, a live worker) and /metrics (Prometheus text format).

/metrics tells how busy the course is and when: with GRADER_METRICS_TOKEN set it answers only
`Authorization: Bearer <that token>` (401 otherwise); without it, only clients on the loopback interface
(404 to anyone else, as if it did not exist).
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service import principals
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
def metrics(request: Request, services: ServicesDep) -> Response:
    """Queue depth, submissions by status, the grading-time histogram, live workers and their slots."""
    expected = services.settings.metrics_token
    if expected is None and not _loopback(request):
        raise HTTPException(404)
    if expected is not None:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(principals.token_hash(sent.strip()),
                                                                 principals.token_hash(expected)):
            raise HTTPException(401, "/metrics needs Authorization: Bearer <GRADER_METRICS_TOKEN>",
                                headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(services.metrics), media_type=CONTENT_TYPE_LATEST)


def _loopback(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False
