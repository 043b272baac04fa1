"""The tool's LTI endpoints: /lti/login (OIDC third-party-initiated login), /lti/launch (the id_token, then the
session cookie), /lti/jwks (the tool's public keys), /lti/config (these endpoints as JSON), and the
instructor's platform registrations under /api/lti/platforms.

A refused launch or login is answered with an error page saying why, creates nothing, and is logged with
the reason and the caller's address, never the token. The login's state is also set as a cookie
(SameSite=None: the launch is the platform's cross-site POST) that the launch must bring back, so a launch
started in another browser (login CSRF) is refused.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, field_validator
from starlette.concurrency import run_in_threadpool

from service import edges
from service.auth import Instructor, client_address
from service.lti import keys, launch, launchers
from service.lti.launch import Refused
from service.lti.platform_keys import KeysUnavailable
from service.services import Services, ServicesDep
from service.store import Platform
from service.store.lti import LOGIN_LIFETIME
from service.web import render, signin

log = logging.getLogger("grader.lti")
router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/lti", tags=["lti"])
STATE_COOKIE = "lti_state_"


def base_url(request: Request, services: Services) -> str:
    """The tool's public address: GRADER_PUBLIC_URL behind a proxy, else the (allowed) host it was called by."""
    return (services.settings.public_url or str(request.base_url)).rstrip("/")


def endpoints(base: str) -> dict[str, str]:
    return {"oidc_initiation_url": f"{base}/lti/login", "target_link_uri": f"{base}/lti/launch",
            "redirect_uri": f"{base}/lti/launch", "jwks_url": f"{base}/lti/jwks"}


@router.get("/lti/config")
def config(request: Request, services: ServicesDep) -> dict:
    """What a platform's registration form asks for."""
    found = endpoints(base_url(request, services))
    return {"title": "nn-grader", "description": "Sandboxed grading of neural-network coursework notebooks.",
            **found, "redirect_uris": [found["redirect_uri"]], "messages": [launch.RESOURCE_LINK_REQUEST],
            "signing_algorithm": "RS256"}


@router.get("/lti/jwks")
def jwks(services: ServicesDep) -> dict:
    return keys.public_jwks(services.store)


def refused(request: Request, reason: str, issuer: object = None) -> HTMLResponse:
    log.warning("LTI refused from %s (issuer %r): %s", client_address(request), str(issuer)[:200], reason)
    return render.page(request, "error.html", status=400, message=f"LTI: {reason}")


@router.api_route("/lti/login", methods=["GET", "POST"])
async def login(request: Request, services: ServicesDep) -> Response:
    """The platform's login initiation: remember a state and nonce, send the browser to its auth URL."""
    asked = dict(request.query_params)
    if request.method == "POST":
        asked.update({k: v for k, v in (await edges.form(request)).items() if isinstance(v, str)})
    issuer, hint = asked.get("iss"), asked.get("login_hint")
    if not issuer or not hint or not asked.get("target_link_uri"):
        return refused(request, "the login lacks iss, login_hint or target_link_uri", issuer)
    candidates = await run_in_threadpool(services.store.platforms, issuer)
    if asked.get("client_id"):
        candidates = [p for p in candidates if p.client_id == asked["client_id"]]
    if len(candidates) != 1:
        return refused(request, "no single registered platform matches this issuer and client id", issuer)
    platform = candidates[0]
    deployment = asked.get("lti_deployment_id")
    if deployment and deployment not in platform.deployments:
        return refused(request, "the login is for a deployment that is not registered", issuer)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await run_in_threadpool(services.store.start_login, state, nonce, platform.id)
    query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
             "client_id": platform.client_id, "redirect_uri": endpoints(base_url(request, services))["redirect_uri"],
             "login_hint": hint, "state": state, "nonce": nonce}
    if asked.get("lti_message_hint"):
        query["lti_message_hint"] = asked["lti_message_hint"]
    separator = "&" if "?" in platform.auth_url else "?"
    response = RedirectResponse(f"{platform.auth_url}{separator}{urlencode(query)}", status_code=302)
    response.set_cookie(STATE_COOKIE + state, state, max_age=int(LOGIN_LIFETIME.total_seconds()), httponly=True,
                        secure=True, samesite="none", path="/lti/")
    return response


@router.post("/lti/launch")
async def launch_in(request: Request, services: ServicesDep) -> Response:
    """The platform's form post of the id_token: verified, then the user signed in and sent to their pages."""
    fields = await edges.form(request)
    token, state = fields.get("id_token"), fields.get("state")
    issuer = None
    try:
        if isinstance(fields.get("error"), str):
            raise Refused(f"the platform answered {fields['error'][:100]!r}")
        if not isinstance(token, str) or not isinstance(state, str) or not state:
            raise Refused("the launch carries no id_token and state")
        started = await run_in_threadpool(services.store.take_login, state)   # used up, whatever follows
        if started is None:
            raise Refused("the launch's state is unknown, used or expired")
        if request.cookies.get(STATE_COOKIE + state) != state:
            raise Refused("this browser did not start this launch (are cookies blocked? open the tool in a new "
                          "window)")
        platform = await run_in_threadpool(_platform, services, started.platform_id)
        issuer = platform.issuer
        kid = launch.header(token).get("kid")
        key = await services.platform_keys.key(platform.jwks_url, kid)
        if key is None:
            raise Refused("the id_token's key (kid) is not one the platform publishes")
        verified = launch.verify(token, key, platform, started.nonce, time.time())
        principal = await run_in_threadpool(launchers.principal_for, services.store, verified)
    except (Refused, KeysUnavailable) as exc:
        return refused(request, str(exc), issuer)
    cookie = Response()
    signin.sign_in(request, cookie, principal)
    response = render.page(request, "lti_launched.html", landing="/instructor" if principal.is_instructor
                           else "/assignments")
    response.headers.append("set-cookie", cookie.headers["set-cookie"])
    response.delete_cookie(STATE_COOKIE + state, path="/lti/", secure=True, httponly=True, samesite="none")
    log.info("LTI launch from %s: %s signed in", issuer, principal.key)
    return response


def _platform(services: Services, platform_id: int) -> Platform:
    return next(p for p in services.store.platforms() if p.id == platform_id)


class PlatformForm(BaseModel):
    issuer: str
    client_id: str
    deployment_id: str
    auth_url: str
    token_url: str
    jwks_url: str

    @field_validator("issuer", "auth_url", "token_url", "jwks_url")
    @classmethod
    def web_address(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or len(value) > 255:
            raise ValueError("an http(s) URL of at most 255 characters")
        return value

    @field_validator("client_id", "deployment_id")
    @classmethod
    def identifier(cls, value: str) -> str:
        if not value.strip() or len(value) > 255:
            raise ValueError("1 to 255 characters")
        return value.strip()


def described(platform: Platform) -> dict:
    return {"issuer": platform.issuer, "client_id": platform.client_id, "deployments": list(platform.deployments),
            "auth_url": platform.auth_url, "token_url": platform.token_url, "jwks_url": platform.jwks_url}


@api.get("/platforms")
def list_platforms(services: ServicesDep, _: Instructor) -> dict:
    return {"platforms": [described(p) for p in services.store.platforms()]}


@api.post("/platforms", status_code=201, openapi_extra=edges.openapi_body(PlatformForm))
def add_platform(services: ServicesDep, _: Instructor,
                 form: Annotated[PlatformForm, Depends(edges.json_body(PlatformForm))]) -> JSONResponse:
    """Register a platform (or add a deployment to one registered): the same as `grader lti add-platform`."""
    return JSONResponse(described(services.store.add_platform(**form.model_dump())), status_code=201)
