"""Who is calling: Bearer tokens, stored only as hashes, compared in constant time; one FastAPI dependency."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

INSTRUCTOR = "instructor"
STUDENT = "student"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """SHA-256 of the token: tokens are 192 random bits, so an unsalted fast hash cannot be brute-forced."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    role: str                      # INSTRUCTOR or STUDENT
    student: str | None = None     # the student's id when role is STUDENT

    @property
    def is_instructor(self) -> bool:
        return self.role == INSTRUCTOR


def identify(store, token: str) -> Principal | None:
    """The principal a token belongs to, or None."""
    digest = token_hash(token)
    instructor = store.credential(INSTRUCTOR)
    if instructor is not None and hmac.compare_digest(digest, instructor):
        return Principal(INSTRUCTOR)
    student = store.student_by_token_hash(digest)
    if student is not None and hmac.compare_digest(digest, student.token_hash):
        return Principal(STUDENT, student.id)
    return None


def caller(request: Request) -> Principal:
    """The FastAPI dependency every protected route uses: `Authorization: Bearer <token>` or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    principal = identify(request.app.state.services.store, token.strip()) \
        if scheme.lower() == "bearer" and token.strip() else None
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
