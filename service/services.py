"""What every request handler may use: settings, the store, the publisher, the assignments' specs, the metrics.

Routes and pages take it as `services: ServicesDep` (FastAPI's dependency, one object per app).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from grader import spec
from service.lifecycle import Publisher
from service.lti.platform_keys import PlatformKeys
from service.settings import ServiceSettings
from service.status_watch import StatusWatch
from service.store import Store
from service.upload_check import UploadCheck


@dataclass(frozen=True)
class Services:
    settings: ServiceSettings
    store: Store
    publisher: Publisher
    assignments: dict[str, spec.Assignment]
    metrics: CollectorRegistry          # what /metrics exposes (service/metrics.py)
    cookie_key: bytes                   # signs the web pages' session cookies (bootstrap.cookie_key)
    upload_check: UploadCheck           # the intake check off the event loop (started with the app)
    status_watch: StatusWatch           # long polls waiting for a status to change (service/status_watch.py)
    platform_keys: PlatformKeys         # LTI platforms' JWKS, cached (service/lti/platform_keys.py)


def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]
