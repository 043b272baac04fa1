"""The service's edge: what every request meets before any route reads it, and every response on its way out.

- **Host.** Only the host names of `GRADER_ALLOWED_HOSTS` are answered (400 otherwise), so a rebound DNS
  name cannot make the service write its own URLs (`Location`, `status_url`) for another origin.
- **Bodies.** Every body is bounded here, in one pure ASGI middleware: `GRADER_MAX_BODY_BYTES` (a small
  default) for every route, the notebook limit for the routes marked `@upload` (notebooks, rosters). When a
  route first reads, a declared Content-Length over its limit is answered 413 before a byte is taken; a
  chunked body is counted as it arrives and answered 413 the moment it outgrows the limit, whatever the
  route was doing with it. A route that answers without reading (401, say) never takes the body at all.
  Routes declare no body parameters (FastAPI would parse those before any dependency checks who is
  calling): they read forms and JSON through `form_fields` / `json_body`, after their sign-in dependency,
  with capped fields and parts (`form`).
- **Headers.** Every response is `nosniff`, `no-store` and same-origin for referrers (reports and pages
  are private); an HTML response without its own Content-Security-Policy gets one that allows nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grader.languages import from_accept_language
from service.settings import ServiceSettings
from service.uploads import MULTIPART_OVERHEAD, too_large

HEADERS = {b"x-content-type-options": b"nosniff", b"cache-control": b"no-store",
           b"referrer-policy": b"same-origin"}
HTML_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
FORM_LIMITS = {"max_files": 1, "max_fields": 8, "max_part_size": 64 * 1024}
_UPLOAD = "accepts_upload"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Model = TypeVar("Model", bound=BaseModel)


def upload(endpoint: Endpoint) -> Endpoint:
    """Mark a route as taking a file upload: its body may be as large as a notebook (instead of the default)."""
    setattr(endpoint, _UPLOAD, True)
    return endpoint


def install(app: FastAPI, settings: ServiceSettings) -> None:
    """The edge around the app: the body limit and the response headers outermost (the 400 for a host too),
    then the host check."""
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts), www_redirect=False)
    app.add_middleware(BodyLimit, default=settings.max_body_bytes,
                       notebook=settings.grader.max_notebook_bytes)


class BodyTooLarge(Exception):
    """Raised into the route that reads past its limit; the middleware answers 413 in its place."""


class BodyLimit:
    """Bound the body of every request (see the module docstring); add the security headers to every answer."""

    def __init__(self, app: ASGIApp, default: int, notebook: int) -> None:
        self.app, self.default, self.notebook = app, default, notebook

    def limit(self, scope: Scope) -> tuple[int, bool]:
        """(bytes allowed, whether the route takes uploads): routing has run, `scope["route"]` is the reader."""
        if getattr(getattr(scope.get("route"), "endpoint", None), _UPLOAD, False):
            return self.notebook + MULTIPART_OVERHEAD, True
        return self.default, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        started = refused = False
        received, limit, is_upload = 0, None, False

        async def counted() -> Message:
            """The body as the route reads it: refused once (or as soon as Content-Length says) it is too large."""
            nonlocal received, refused, limit, is_upload
            if limit is None:
                limit, is_upload = self.limit(scope)
                refused = declared.isdigit() and int(declared) > limit
            if not refused:
                message = await receive()
                received += len(message.get("body", b""))
                refused = received > limit
                if not refused:
                    return message
            raise BodyTooLarge

        async def headed(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = with_security_headers(message.get("headers", []))
            await send(message)

        async def unless_refused(message: Message) -> None:
            if not refused:    # what a route answers to a body it could not finish reading is replaced
                await headed(message)

        try:
            await self.app(scope, counted, unless_refused)
        except BodyTooLarge:
            pass
        if refused and not started:
            size = int(declared) if declared.isdigit() else received
            await self.refusal(scope, limit or 0, is_upload, size)(scope, receive, headed)

    def refusal(self, scope: Scope, limit: int, is_upload: bool, size: int) -> JSONResponse:
        """413: for an upload the intake's own words (size, limit, the cure) in the caller's language."""
        if is_upload:
            lang = from_accept_language(dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1"))
            detail = too_large(size, self.notebook, lang).detail
        else:
            detail = f"the request body is larger than the {limit} bytes this address accepts"
        return JSONResponse({"detail": detail}, status_code=413, headers={"Connection": "close"})


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The response's headers with every one of HEADERS it does not set itself, and a CSP on HTML."""
    present = {name.lower() for name, _ in headers}
    extra = [(name, value) for name, value in HEADERS.items() if name not in present]
    is_html = any(name.lower() == b"content-type" and value.lower().startswith(b"text/html") for name, value in headers)
    if is_html and b"content-security-policy" not in present:
        extra.append((b"content-security-policy", HTML_CSP))
    return [*headers, *extra]


async def form(request: Request) -> FormData:
    """The request's form, parsed once, with at most one file, a few fields and small parts."""
    return await request.form(**FORM_LIMITS)


def form_fields(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency: the form validated as `model` (422 as FastAPI's own); list it after the route's sign-in."""
    async def read(request: Request) -> Model:
        fields = {k: v for k, v in (await form(request)).items() if isinstance(v, str)}
        return _validated(model, lambda: model.model_validate(fields))
    return read


def json_body(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency: the JSON body validated as `model` (422 as FastAPI's own); list it after the sign-in."""
    async def read(request: Request) -> Model:
        raw = await request.body()
        return _validated(model, lambda: model.model_validate_json(raw))
    return read


def _validated(model: type[Model], parse: Callable[[], Model]) -> Model:
    try:
        return parse()
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def openapi_body(model: type[BaseModel], media_type: str = "application/json") -> dict[str, Any]:
    """The route's documented request body (it reads the body itself, so FastAPI cannot infer it)."""
    return {"requestBody": {"required": True, "content": {media_type: {"schema": model.model_json_schema()}}}}
