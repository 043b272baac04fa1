"""Who is calling, for the HTTP routes: the Bearer token's principal (service.principals); FastAPI dependencies.

Guessing is throttled: a token that matches nobody is recorded with the client address, and an address with
too many failures in the last minute (or every address together, against a guesser with many) is answered
429 without its token being tried, on the API and the sign-in page alike. The count is in the database.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from service.principals import Principal, identify
from service.store.sign_ins import FAILURE_WINDOW


class Throttled(HTTPException):
    """429: too many wrong tokens from this address (or from everywhere) in the last minute."""

    def __init__(self, seconds: int) -> None:
        super().__init__(429, f"too many wrong tokens; try again in {seconds} s", headers={"Retry-After": str(seconds)})
        self.seconds = seconds


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def throttled_identify(request: Request, token: str) -> Principal | None:
    """`identify`, unless the caller's address (or everyone) made too many failed attempts: then Throttled,
    and the token is not tried. A failure is recorded against the address."""
    services = request.app.state.services
    address = client_address(request)
    mine, everyone, clock = services.store.recent_failures(address)
    waits = [_wait(times, limit, clock) for times, limit in ((mine, services.settings.failed_sign_ins_per_minute),
                                                      (everyone, services.settings.failed_sign_ins_per_minute_total))]
    if max(waits) > 0:
        raise Throttled(max(waits))
    principal = identify(services.store, token)
    if principal is None:
        services.store.record_failure(address)
    return principal


def _wait(times: list[datetime], limit: int, clock: datetime) -> int:
    """Whole seconds until fewer than `limit` of these failures are within the minute before `clock` (0: now)."""
    if len(times) < limit:
        return 0
    return max(1, math.ceil((times[-limit] + FAILURE_WINDOW - clock).total_seconds()))


def caller(request: Request) -> Principal:
    """The FastAPI dependency every protected route uses: `Authorization: Bearer <token>` or 401 (429 when
    this address guessed too often)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    principal = throttled_identify(request, token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if principal is None:
        raise HTTPException(401, "a valid token is required (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


def instructor(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    if not principal.is_instructor:
        raise HTTPException(403, "only the instructor may do this")
    return principal


Caller = Annotated[Principal, Depends(caller)]
Instructor = Annotated[Principal, Depends(instructor)]
