"""The app factory: the records opened and migrated, the API routers and the web pages, the reconciler."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import api, assignments, bootstrap, metrics, web
from service.lifecycle import Publisher
from service.queue import CeleryPublisher, celery_app
from service.reconciler import Reconciler
from service.services import Services
from service.settings import ServiceSettings


def create_app(settings: ServiceSettings | None = None, publisher: Publisher | None = None,
               reconcile: bool = True) -> FastAPI:
    """The whole HTTP service: the API and the web pages. `grader serve` runs it with uvicorn."""
    settings = settings or ServiceSettings.from_env()
    store, settings = bootstrap.open_shared(settings)
    token = bootstrap.ensure_instructor(store, settings)
    if token:
        print(f"instructor token (shown once, keep it): {token}", file=sys.stderr, flush=True)
    publisher = publisher or CeleryPublisher(celery_app(settings))
    services = Services(settings, store, publisher, assignments.specs(settings.assignments_dir),
                        metrics=metrics.registry(store, publisher), cookie_key=bootstrap.cookie_key(settings))
    reconciler = Reconciler(store, publisher, settings.reconcile_every, settings.requeue_after)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if reconcile:
            reconciler.start()
        yield
        if reconcile:
            reconciler.stop()

    app = FastAPI(title="nn-grader", version="0.1.0", lifespan=lifespan,
                  description="Sandboxed grading of neural-network coursework notebooks.")
    app.state.services = services
    for router in (*api.routers, web.router):
        app.include_router(router)
    return app
