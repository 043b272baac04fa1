"""Browser sessions: a signed, HTTP-only, SameSite=Strict, Secure cookie; CSRF tokens; who may see a page.

The cookie carries only the role, the student id, a CSRF token and an expiry, signed with HMAC-SHA256
under a key kept in the data directory. Tokens from the roster are posted once to sign in and never
kept in the browser. Every form and every upload carries the session's CSRF token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response

from service import auth
from service.auth import Principal

COOKIE = "grader_session"
LIFETIME = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class WebSession:
    csrf: str
    principal: Principal | None = None   # None: not signed in (the session exists for the sign-in form's CSRF)


class SignInRequired(Exception):
    """Raised by page dependencies; the app answers with a redirect to the sign-in page."""


def _key(request: Request) -> bytes:
    """The signing key: GRADER_WEB_SECRET, else a random key created once in the data directory."""
    state = request.app.state
    if getattr(state, "web_key", None) is None:
        secret = os.environ.get("GRADER_WEB_SECRET")
        if secret:
            state.web_key = hashlib.sha256(secret.encode()).digest()
        else:
            state.web_key = _stored_key(state.services.settings.data_dir / "web-session.key")
    return state.web_key


def _stored_key(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def _sign(key: bytes, payload: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _verify(key: bytes, value: str) -> dict | None:
    body, _, mac = value.rpartition(".")
    if not body or not hmac.compare_digest(mac, hmac.new(key, body.encode(), hashlib.sha256).hexdigest()):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) and payload.get("exp", 0) > time.time() else None


def current(request: Request) -> WebSession:
    """This request's session (a fresh anonymous one when the cookie is missing, forged or expired)."""
    known = getattr(request.state, "web_session", None)
    if known is not None:
        return known
    payload = _verify(_key(request), request.cookies.get(COOKIE, ""))
    if payload is None or not isinstance(payload.get("csrf"), str):
        session = WebSession(csrf=secrets.token_urlsafe(24))
        request.state.web_session_new = True
    else:
        role = payload.get("role")
        principal = Principal(role, payload.get("student")) if role in (auth.STUDENT, auth.INSTRUCTOR) else None
        session = WebSession(payload["csrf"], principal)
    request.state.web_session = session
    return session


def save(request: Request, response: Response, session: WebSession) -> None:
    """Write the session cookie (always HttpOnly, SameSite=Strict, Secure)."""
    who = session.principal
    payload = {"csrf": session.csrf, "exp": int(time.time()) + LIFETIME,
               "role": who.role if who else None, "student": who.student if who else None}
    response.set_cookie(COOKIE, _sign(_key(request), payload), max_age=LIFETIME, httponly=True, secure=True,
                        samesite="strict", path="/")


def sign_in(request: Request, response: Response, principal: Principal) -> None:
    """A new session (new CSRF token) for a signed-in user, so no pre-sign-in token survives."""
    session = WebSession(csrf=secrets.token_urlsafe(24), principal=principal)
    request.state.web_session = session
    save(request, response, session)


def sign_out(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=True, samesite="strict")


async def csrf_checked(request: Request) -> WebSession:
    """The dependency of every state-changing page route: the form field or header must match the session's."""
    session = current(request)
    sent = request.headers.get(CSRF_HEADER)
    kind = request.headers.get("content-type", "")
    if sent is None and kind.startswith("multipart/form-data"):
        # an upload's body is left to the size-limited reader of service.api.upload: the page's script
        # sends the header, a form posted without script carries the token in its action's query
        sent = request.query_params.get(CSRF_FIELD)
    elif sent is None and kind.startswith("application/x-www-form-urlencoded"):
        sent = (await request.form()).get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf) or \
            getattr(request.state, "web_session_new", False):
        raise HTTPException(403, "csrf")
    return session


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
Csrf = Annotated[WebSession, Depends(csrf_checked)]
