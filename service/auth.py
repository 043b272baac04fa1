"""Who is calling: Bearer tokens, stored only as hashes, compared in constant time; one FastAPI dependency.

Guessing is throttled: a token that matches nobody is recorded with the client address, and an address with
too many failures in the last minute (or every address together, against a guesser with many) is answered
429 without its token being tried, on the API and the sign-in page alike. The count is in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request

INSTRUCTOR = "instructor"      # GRADER_INSTRUCTOR_TOKEN: the service administrator (today's routes' instructor)
STUDENT = "student"
STAFF = "staff"                # a course's instructor or TA, by their own token
FAILURE_WINDOW = timedelta(minutes=1)   # failed attempts older than this no longer count


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """SHA-256 of the token: tokens are 192 random bits, so an unsalted fast hash cannot be brute-forced."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    role: str                      # INSTRUCTOR (the administrator), STUDENT or STAFF
    student: str | None = None     # the student's id when role is STUDENT
    course: str | None = None      # a staff member's course, id and role there (instructor | ta)
    staff: str | None = None
    staff_role: str | None = None

    @property
    def is_instructor(self) -> bool:
        """The service administrator: every course, and today's routes on course `default`."""
        return self.role == INSTRUCTOR

    @property
    def is_student(self) -> bool:
        return self.role == STUDENT

    def sees_course(self, course: str) -> bool:
        """Staff-wide sight of a course's records: the administrator, or its own staff."""
        return self.is_instructor or (self.role == STAFF and self.course == course)

    @property
    def key(self) -> str:
        """The principal's name in shared records (its session generation)."""
        if self.role == STAFF:
            return f"{STAFF}:{self.course}:{self.staff}"
        return INSTRUCTOR if self.is_instructor else f"{STUDENT}:{self.student}"

    @property
    def actor(self) -> str:
        """Who it is in the audit log: `admin`, `instructor:<id>`, `ta:<id>` or `student:<id>`."""
        if self.role == STAFF:
            return f"{self.staff_role}:{self.staff}"
        return "admin" if self.is_instructor else f"{STUDENT}:{self.student}"


def identify(store, token: str) -> Principal | None:
    """The principal a token belongs to, or None."""
    digest = token_hash(token)
    instructor = store.credential(INSTRUCTOR)
    if instructor is not None and hmac.compare_digest(digest, instructor):
        return Principal(INSTRUCTOR)
    student = store.student_by_token_hash(digest)
    if student is not None and hmac.compare_digest(digest, student.token_hash):
        return Principal(STUDENT, student.id)
    member = store.staff_by_token_hash(digest)
    if member is not None and hmac.compare_digest(digest, member.token_hash):
        return Principal(STAFF, course=member.course, staff=member.id, staff_role=member.role)
    return None


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
