"""Signing in to the pages: a signed browser-session cookie, CSRF tokens, and who may see a page.

The cookie (HttpOnly, Secure, SameSite=Strict, path /, 12 h) carries only the role, the student id and a
CSRF token, signed (HMAC-SHA256) and timestamped by itsdangerous under the service's cookie key (GRADER_WEB_SECRET, or
a random key kept in the data directory); a cookie that is malformed, forged or older than 12 h is an
anonymous visitor. Tokens from the roster are posted once to sign in and never kept in the browser.
Every form and every upload carries the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer

from service import auth, edges
from service.auth import Principal

COOKIE = "grader_session"
LIFETIME = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SALT = "grader.browser-session"


@dataclass(frozen=True)
class BrowserSession:
    csrf: str
    principal: Principal | None = None   # None: not signed in (the session exists for the sign-in form's CSRF)


class SignInRequired(Exception):
    """Raised by page dependencies; the app answers with a redirect to the sign-in page."""


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.services.cookie_key, salt=_SALT,
                                  signer_kwargs={"digest_method": hashlib.sha256})


def _read(request: Request) -> BrowserSession | None:
    """The session the cookie holds, or None when it is missing, malformed, forged or expired."""
    try:
        payload = _serializer(request).loads(request.cookies.get(COOKIE, ""), max_age=LIFETIME)
    except BadData:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("csrf"), str):
        return None
    role, student = payload.get("role"), payload.get("student")
    principal = Principal(role, student) if role in (auth.STUDENT, auth.INSTRUCTOR) else None
    return BrowserSession(payload["csrf"], principal)


def current(request: Request) -> BrowserSession:
    """This request's session (a fresh anonymous one when the cookie is missing, forged or expired)."""
    known = getattr(request.state, "browser_session", None)
    if known is not None:
        return known
    visit = _read(request)
    if visit is None:
        visit = BrowserSession(csrf=secrets.token_urlsafe(24))
        request.state.browser_session_new = True
    request.state.browser_session = visit
    return visit


def is_new(request: Request) -> bool:
    """True when this request started a session (its cookie still has to be set)."""
    return getattr(request.state, "browser_session_new", False)


def save(request: Request, response: Response, visit: BrowserSession) -> None:
    """Write the session cookie (always HttpOnly, SameSite=Strict, Secure)."""
    who = visit.principal
    payload = {"csrf": visit.csrf, "role": who.role if who else None, "student": who.student if who else None}
    response.set_cookie(COOKIE, _serializer(request).dumps(payload), max_age=LIFETIME, httponly=True, secure=True,
                        samesite="strict", path="/")


def sign_in(request: Request, response: Response, principal: Principal) -> None:
    """A new session (new CSRF token) for a signed-in user, so no pre-sign-in token survives."""
    visit = BrowserSession(csrf=secrets.token_urlsafe(24), principal=principal)
    request.state.browser_session = visit
    save(request, response, visit)


def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=True, samesite="strict")


async def csrf_checked(request: Request) -> BrowserSession:
    """The dependency of every state-changing page route: the form field or header must match the session's."""
    visit = current(request)
    sent = request.headers.get(CSRF_HEADER)
    kind = request.headers.get("content-type", "")
    if sent is None and kind.startswith("multipart/form-data"):
        # an upload's body is left to the size-limited reader of service.uploads: the page's script
        # sends the header, a form posted without script carries the token in its action's query
        sent = request.query_params.get(CSRF_FIELD)
    elif sent is None and kind.startswith("application/x-www-form-urlencoded"):
        sent = (await edges.form(request)).get(CSRF_FIELD)
    if not isinstance(sent, str) or is_new(request) or \
            not hmac.compare_digest(sent.encode(), visit.csrf.encode()):
        raise HTTPException(403, "csrf")
    return visit


def signed_in(request: Request) -> Principal:
    principal = current(request).principal
    if principal is None:
        raise SignInRequired
    return principal


def student_only(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
    if principal.is_instructor:
        raise HTTPException(404)
    return principal


def instructor_only(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
    if not principal.is_instructor:
        raise HTTPException(404)   # the instructor pages do not exist for a student
    return principal


Viewer = Annotated[Principal, Depends(signed_in)]
StudentViewer = Annotated[Principal, Depends(student_only)]
InstructorViewer = Annotated[Principal, Depends(instructor_only)]
Csrf = Annotated[BrowserSession, Depends(csrf_checked)]
