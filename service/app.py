"""The app factory: the records opened and migrated, the API routers (and the web pages), the reconciler."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service import api, bootstrap, course
from service.lifecycle import Publisher
from service.queue import CeleryPublisher, celery_app
from service.reconciler import Reconciler
from service.services import Services
from service.settings import ServiceSettings

log = logging.getLogger(__name__)


def create_app(settings: ServiceSettings | None = None, publisher: Publisher | None = None,
               reconcile: bool = True) -> FastAPI:
    """The whole HTTP service. `grader serve` runs it with uvicorn (`service.app:create_app`, factory=True)."""
    settings = settings or ServiceSettings.from_env()
    store = bootstrap.open_store(settings)
    token = bootstrap.ensure_instructor(store, settings)
    if token:
        print(f"instructor token (shown once, keep it): {token}", file=sys.stderr, flush=True)
    publisher = publisher or CeleryPublisher(celery_app(settings))
    services = Services(settings, store, publisher, course.specs(settings.assignments_dir))
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
    for router in api.routers:
        app.include_router(router)
    web = _web_router()
    if web is not None:
        app.include_router(web)
    return app


def _web_router():
    """The web pages, when `service.web` provides a `router` (built separately on top of this API)."""
    try:
        return importlib.import_module("service.web").router
    except (ModuleNotFoundError, AttributeError):
        return None
