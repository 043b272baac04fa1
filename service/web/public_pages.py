"""Pages everyone reaches: the front door, signing in and out, the language switch, static files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from service import auth, edges, principals
from service.web import i18n, render, signin
from service.web.signin import Csrf

router = APIRouter(route_class=render.PageRoute, include_in_schema=False)
STATIC = render.HERE / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@router.get("/")
def home(request: Request) -> Response:
    who = signin.current(request).principal
    if who is None:
        return render.redirect("/signin")
    return render.redirect(_start(who))


def _start(who: principals.Principal) -> str:
    """Where a signed-in user's pages begin."""
    return "/instructor" if who.is_instructor else "/assignments" if who.is_student else "/staff"


@router.get("/signin")
def signin_form(request: Request) -> Response:
    return render.page(request, "signin.html")


class SignInForm(BaseModel):
    token: str = ""


class LanguageForm(BaseModel):
    lang: str
    next: str = "/"


@router.post("/signin")
async def sign_in(request: Request, _: Csrf,
                  form: Annotated[SignInForm, Depends(edges.form_fields(SignInForm))]) -> Response:
    """The roster token is posted once, checked against its hash, and replaced by a session cookie."""
    token = form.token
    try:
        principal = await run_in_threadpool(auth.throttled_identify, request, token.strip()) if token.strip() else None
    except auth.Throttled as exc:
        answer = render.page(request, "signin.html", status=429,
                             error=render.translate(request)("signin_throttled", seconds=exc.seconds))
        answer.headers.update(exc.headers)
        return answer
    if principal is None:
        return render.page(request, "signin.html", status=401, error=render.translate(request)("bad_token"))
    response = render.redirect(_start(principal))
    signin.sign_in(request, response, principal)
    return response


@router.post("/signout")
def sign_out(request: Request, _: Csrf) -> Response:
    response = render.redirect("/signin")
    signin.sign_out(request, response)
    return response


@router.post("/lang")
def switch_language(_: Csrf, form: Annotated[LanguageForm, Depends(edges.form_fields(LanguageForm))]) -> Response:
    """Remember the chosen page language in a cookie and go back to the page the switch was on."""
    lang, next = form.lang, form.next
    if lang not in i18n.LANGUAGES:
        raise HTTPException(400, "unknown language")
    back = next if next.startswith("/") and not next.startswith(("//", "/\\")) else "/"
    response = render.redirect(back)
    response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, httponly=True, secure=True, samesite="strict")
    return response


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or path.suffix not in STATIC_TYPES or not path.is_file():
        raise HTTPException(404)
    return render.protect(FileResponse(path, media_type=STATIC_TYPES[path.suffix]))
