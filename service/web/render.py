"""Rendering pages: Jinja2 (autoescape on) with the request's language, session and security headers.

Templates say their strings with `_('key', fact=value)` (Jinja2's i18n extension, newstyle): the
catalogue's page text in the request's language with the facts put in, escaped like every other
value (the text too: a translation is data, not markup).

Every page gets a strict Content-Security-Policy (scripts and styles only from /static, nothing from
elsewhere) and no framing by other sites; no caching and nosniff are every answer's (service/edges.py).
Errors raised while answering a page route (404, a refused CSRF token, sign-in needed, a form's field out of
its bounds) become HTML pages in the user's language.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape

from grader import catalogue
from service.web import i18n, signin

HERE = Path(__file__).resolve().parent
LOADER = FileSystemLoader(HERE / "templates")
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
@functools.cache
def templates(lang: str) -> Environment:
    """The templates in one language: the gettext callables are an environment's globals, so one per language."""
    environment = Environment(loader=LOADER, autoescape=select_autoescape(default=True), trim_blocks=True,
                              lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    text = i18n.gettext(lang)
    environment.install_gettext_callables(lambda key: escape(text(key)),
                                          lambda one, many, n: escape(text(one if n == 1 else many)), newstyle=True)
    return environment


def language(request: Request) -> str:
    return i18n.negotiate(request.headers.get("accept-language"), request.cookies.get(i18n.COOKIE))


def translate(request: Request) -> Callable[..., str]:
    return i18n.translator(language(request))


def protect(response: Response, csp: str = PAGE_CSP) -> Response:
    """The page's own CSP; nosniff, no-store and the referrer policy are every answer's (service/edges.py)."""
    response.headers["Content-Security-Policy"] = csp
    return response


def fragment(request: Request, template: str, lang: str | None = None, **context: Any) -> str:
    """A template in the request's language (or `lang`: an LMS launch says its own), with what every page's
    templates may use (the session, the form token): a whole page, or the part of one a page swaps in."""
    lang = lang or language(request)
    visit = signin.current(request)
    return templates(lang).get_template(template).render(
        request=request, lang=lang, languages=i18n.LANGUAGES, who=visit.principal, who_name=visit.shown_name,
        csrf=visit.csrf, csrf_field=signin.CSRF_FIELD, here=request.url.path, **context)


def page(request: Request, template: str, status: int = 200, lang: str | None = None,
         **context: Any) -> HTMLResponse:
    """A full page: the template in the request's language (or `lang`), with the session and the language
    switch."""
    response = HTMLResponse(fragment(request, template, lang, **context), status_code=status)
    visit = signin.current(request)
    if signin.is_new(request):
        signin.save(request, response, visit)
    return protect(response)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


class PageRoute(APIRoute):
    """Page routes answer errors with HTML pages (and a sign-in redirect) instead of the API's JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except signin.SignInRequired:
                return redirect("/signin")
            except HTTPException as exc:
                key = "bad_csrf" if exc.detail == "csrf" else "not_found" if exc.status_code == 404 else None
                return _error(request, exc.status_code, translate(request)(key) if key else str(exc.detail))
            except RequestValidationError as exc:
                return _error(request, 422, form_refusal(exc.errors(), translate(request)))
        return answer


def _error(request: Request, status: int, message: str) -> Response:
    if "application/json" in request.headers.get("accept", ""):
        return protect(JSONResponse({"error": message}, status_code=status))
    return page(request, "error.html", status=status, message=message)


FORM_PROBLEMS = {"missing": "form_missing", "greater_than_equal": "form_too_small", "greater_than": "form_too_small",
                 "less_than_equal": "form_too_large", "less_than": "form_too_large", "float_parsing": "form_not_number",
                 "int_parsing": "form_not_number", "literal_error": "form_not_offered",
                 "string_too_long": "form_too_long"}   # pydantic's error type -> the pages' words for it


def form_refusal(errors: Sequence[Any], t: Callable[..., str]) -> str:
    """Why a form was refused (a post made past the browser's own checks, by hand or by a script): each field
    by its label in the page's language (`<field>_label`, else the field's own key, else its name) and what is
    wrong with it."""
    pages = catalogue.table("pages")
    said = []
    for error in errors:
        field = str(error["loc"][-1]) if error.get("loc") else ""
        label = next((t(key) for key in (f"{field}_label", field) if key in pages), field)
        facts = error.get("ctx") or {}
        limit = next((facts[k] for k in ("ge", "gt", "le", "lt", "max_length") if k in facts), "")
        said.append(t(FORM_PROBLEMS.get(error.get("type", ""), "form_invalid"), field=label, limit=limit))
    return t("form_refused", reasons=" ".join(said))


def svg_response(svg: str) -> Response:
    """An SVG image of our own making; it may style itself but never run script."""
    return protect(Response(svg, media_type="image/svg+xml"), csp="default-src 'none'; style-src 'unsafe-inline'")
