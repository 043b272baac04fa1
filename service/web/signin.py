"""Signing in to the pages: a signed browser-session cookie, CSRF tokens, and who may see a page.

The cookie (HttpOnly, Secure, SameSite=Strict, path /, 12 h) carries only the role, the student id (or a
staff member's course accounts: a staff token signs in to its one course, and signing in with another
course's token adds that course to the session), the principal's session generation and a CSRF token,
signed (HMAC-SHA256) and timestamped by itsdangerous under the service's cookie key (GRADER_WEB_SECRET, or a
random key kept in the data directory); a cookie that is malformed, forged, older than 12 h or of an older
generation is an anonymous visitor. Signing out (and a new instructor token) raises the generation in the
database, so a copy of the cookie dies with the session. A staff member's role in each course is read from
the records on every request.
Tokens from the roster are posted once to sign in and never kept in the browser.
Every form and every upload carries the session's CSRF token, in a header or in the body, never in the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from starlette.datastructures import FormData

from service import edges, principals
from service.principals import Principal

COOKIE = "grader_session"
LIFETIME = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SALT = "grader.browser-session"


MAX_STAFF_COURSES = 20       # course accounts one session holds at most


@dataclass(frozen=True)
class BrowserSession:
    csrf: str
    principal: Principal | None = None   # None: not signed in (the session exists for the sign-in form's CSRF)
    staff: tuple[Principal, ...] = ()    # a staff member's accounts, one per course (principal: the first)
    name: str = ""                       # the principal's name when it is a staff member's (the records')

    @property
    def shown_name(self) -> str:
        """Who the page header says is signed in: a staff member by name, a student by id."""
        who = self.principal
        if self.name or who is None:
            return self.name
        return who.student or who.staff or ""

    def in_course(self, course: str) -> Principal | None:
        """Who the session is in a course: the administrator in every one, a staff member with an account there."""
        if self.principal is not None and self.principal.is_instructor:
            return self.principal
        return next((m for m in self.staff if m.course == course), None)


class SignInRequired(Exception):
    """Raised by page dependencies; the app answers with a redirect to the sign-in page."""


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.services.cookie_key, salt=_SALT,
                                  signer_kwargs={"digest_method": hashlib.sha256})


def _read(request: Request) -> BrowserSession | None:
    """The session the cookie holds, or None when it is missing, malformed, forged, expired or revoked."""
    cookie = request.cookies.get(COOKIE, "")
    if not cookie.isascii():     # what the serializer would choke on (TypeError): no signed cookie is
        return None
    try:
        payload = _serializer(request).loads(cookie, max_age=LIFETIME)
    except BadData:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("csrf"), str):
        return None
    role, student = payload.get("role"), payload.get("student")
    if role == principals.STAFF:
        staff, names = _staff_accounts(request, payload.get("staff"))
        return BrowserSession(payload["csrf"], staff[0], staff, names[0]) if staff else None
    principal = Principal(role, student) if role in (principals.STUDENT, principals.INSTRUCTOR) else None
    if principal is not None and payload.get("gen") != _generation(request, principal):
        return None
    return BrowserSession(payload["csrf"], principal)


def _staff_accounts(request: Request, listed: object) -> tuple[tuple[Principal, ...], tuple[str, ...]]:
    """The cookie's staff accounts (course, id, generation) that still exist and are of the current
    generation, each with its role as the records say now; and their names."""
    if not isinstance(listed, list):
        return (), ()
    store = request.app.state.services.store
    accounts, names = [], []
    for entry in listed[:MAX_STAFF_COURSES]:
        if not (isinstance(entry, list) and len(entry) == 3 and all(isinstance(x, str) for x in entry[:2])):
            continue
        member = store.staff_member(entry[0], entry[1])
        if member is None:
            continue
        account = Principal(principals.STAFF, course=member.course, staff=member.id, staff_role=member.role)
        if entry[2] == _generation(request, account):
            accounts.append(account)
            names.append(member.name)
    return tuple(accounts), tuple(names)


def _generation(request: Request, principal: Principal) -> int:
    return request.app.state.services.store.session_generation(principal.key)


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
    payload = {"csrf": visit.csrf, "role": who.role if who else None, "student": who.student if who else None,
               "gen": _generation(request, who) if who else None,
               "staff": [[m.course, m.staff, _generation(request, m)] for m in visit.staff]}
    response.set_cookie(COOKIE, _serializer(request).dumps(payload), max_age=LIFETIME, httponly=True, secure=True,
                        samesite="strict", path="/")


def sign_in(request: Request, response: Response, principal: Principal) -> None:
    """A new session (new CSRF token) for a signed-in user, so no pre-sign-in token survives. A staff token
    joins the session's other staff accounts (its course first; an account of the same course is replaced)."""
    staff: tuple[Principal, ...] = ()
    name = ""
    if principal.role == principals.STAFF:
        staff = (principal, *(m for m in current(request).staff if m.course != principal.course))
        member = request.app.state.services.store.staff_member(principal.course, principal.staff)
        name = member.name if member is not None else ""
    visit = BrowserSession(csrf=secrets.token_urlsafe(24), principal=principal, staff=staff[:MAX_STAFF_COURSES],
                           name=name)
    request.state.browser_session = visit
    save(request, response, visit)


def sign_out(request: Request, response: Response) -> None:
    """End the principal's sessions (every copy of the cookie, on every device) and drop this one."""
    visit = current(request)
    for who in visit.staff or ([visit.principal] if visit.principal else []):
        request.app.state.services.store.end_sessions(who.key)
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=True, samesite="strict")


async def csrf_checked(request: Request) -> BrowserSession:
    """The dependency of every state-changing page route: the header or the form field must match the session's."""
    visit = current(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        sent = (await edges.form(request)).get(CSRF_FIELD)
    _compare(request, sent)
    return visit


async def csrf_in_upload(request: Request) -> BrowserSession:
    """The CSRF dependency of the upload routes (the notebook, the roster): the header, or else the field of
    the multipart body, which the route's own size-limited reader reads and hands to `check_form_token`
    before anything is stored."""
    visit = current(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith("multipart/form-data"):
        if is_new(request):
            raise HTTPException(403, "csrf")
        request.state.csrf_in_form = True
        return visit
    _compare(request, sent)
    return visit


def check_form_token(request: Request, form: FormData) -> None:
    """For a multipart post whose CSRF token came in the body: 403 unless the form's field matches."""
    if getattr(request.state, "csrf_in_form", False):
        _compare(request, form.get(CSRF_FIELD))


def _compare(request: Request, sent: object) -> None:
    """403 unless `sent` is this (not new) session's token; any text compares safely, non-ASCII included."""
    if not isinstance(sent, str) or is_new(request) or \
            not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), current(request).csrf.encode()):
        raise HTTPException(403, "csrf")


def signed_in(request: Request) -> Principal:
    principal = current(request).principal
    if principal is None:
        raise SignInRequired
    return principal


def student_only(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
    if not principal.is_student:
        raise HTTPException(404)
    return principal


def instructor_only(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
    if not principal.is_instructor:
        raise HTTPException(404)   # the instructor pages do not exist for a student
    return principal


def staff_only(request: Request, principal: Annotated[Principal, Depends(signed_in)]) -> BrowserSession:
    """The staff pages' session: the administrator's, or a staff member's (a course's own rights are asked per
    course, `service.access.in_course`)."""
    if principal.is_student:
        raise HTTPException(404)
    return current(request)


Viewer = Annotated[Principal, Depends(signed_in)]
StudentViewer = Annotated[Principal, Depends(student_only)]
InstructorViewer = Annotated[Principal, Depends(instructor_only)]
StaffSession = Annotated[BrowserSession, Depends(staff_only)]
Csrf = Annotated[BrowserSession, Depends(csrf_checked)]
UploadCsrf = Annotated[BrowserSession, Depends(csrf_in_upload)]
