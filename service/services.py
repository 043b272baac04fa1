"""What every request handler may use: settings, the store, the publisher, the assignments' specs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from grader import spec
from service.lifecycle import Publisher
from service.settings import ServiceSettings
from service.store import Store


@dataclass(frozen=True)
class Services:
    settings: ServiceSettings
    store: Store
    publisher: Publisher
    assignments: dict[str, spec.Assignment]


def services(request: Request) -> Services:
    return request.app.state.services


Deps = Annotated[Services, Depends(services)]
