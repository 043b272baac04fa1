"""The app factory: the records opened and migrated, the API routers and the web pages, the reconciler."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from service import api, assignments, bootstrap, edges, metrics
from service.lifecycle import Publisher
from service.lti import course_page as lti_course_page
from service.lti import keys as lti_keys
from service.lti import registration as lti_registration
from service.lti import routes as lti
from service.lti.platform_keys import PlatformKeys
from service.lti.score_sender import ScoreSender
from service.queue import CeleryPublisher, celery_app
from service.reconciler import Reconciler
from service.services import Services
from service.settings import ServiceSettings
from service.status_watch import StatusWatch
from service.upload_check import UploadCheck
from service.web import page_routes


def create_app(settings: ServiceSettings | None = None, publisher: Publisher | None = None,
               reconcile: bool = True) -> FastAPI:
    """The whole HTTP service: the API and the web pages. `grader serve` runs it with uvicorn."""
    settings = settings or ServiceSettings.from_env()
    store, settings = bootstrap.open_shared(settings)
    token = bootstrap.ensure_instructor(store, settings)
    lti_keys.ensure(store, settings.data_dir)
    if token:
        print(f"instructor token (shown once, keep it): {token}", file=sys.stderr, flush=True)
    publisher = publisher or CeleryPublisher(celery_app(settings))
    services = Services(settings, store, publisher, assignments.specs(settings.assignments_dir),
                        metrics=metrics.registry(store, publisher), cookie_key=bootstrap.cookie_key(settings),
                        upload_check=UploadCheck(settings.intake_seconds), status_watch=StatusWatch(store),
                        platform_keys=PlatformKeys(settings.lti_jwks_timeout, settings.lti_jwks_refetch_after))
    reconciler = Reconciler(store, publisher, settings.reconcile_every, settings.requeue_after,
                            settings.max_active_per_student)
    score_sender = ScoreSender(store, settings.lti_scores_every,     # LTI scores to the platforms, from the outbox
                               timedelta(seconds=settings.lti_score_retry))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services.upload_check.start()
        if reconcile:
            reconciler.start()
            score_sender.start()
        yield
        if reconcile:
            await score_sender.stop()
            reconciler.stop()
        services.upload_check.stop()

    app = FastAPI(title="nn-grader", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Sandboxed grading of neural-network coursework notebooks.",
                  form_limits=edges.FORM_LIMITS)   # the schema only (/openapi.json): no page loads a CDN's scripts
    edges.install(app, settings)
    app.state.services = services
    for router in (*api.routers, page_routes.router, lti.router, lti_course_page.router, lti_registration.api):
        app.include_router(router)
    return app
