"""The tool's LTI endpoints: /lti/login (OIDC third-party-initiated login), /lti/launch (the id_token, then the
session cookie, or for a deep linking request the offering picker), /lti/deep-link (the picked offering
returned to the platform), /lti/jwks (the tool's public keys), /lti/config (these endpoints as JSON). The
administrator's registrations are in service/lti/registration.py.

A refused launch or login is answered with a page saying why in the launch's language (its locale, else the
browser's), creates nothing, and is logged in English with the reason and the caller's address, never the
token. The login's state is also set as a cookie
(SameSite=None: the launch is the platform's cross-site POST) that the launch must bring back, so a launch
started in another browser (login CSRF) is refused.
"""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from grader import languages
from service import edges
from service.auth import client_address
from service.lti import deep_linking, keys, launch, launchers, roster_sync
from service.lti.launch import Refused
from service.lti.platform_keys import KeysUnavailable
from service.models import INSTRUCTOR_ROLE
from service.services import Services, ServicesDep
from service.store import Platform
from service.store.lti import LOGIN_LIFETIME
from service.web import i18n, render, signin

log = logging.getLogger("grader.lti")
router = APIRouter(include_in_schema=False)
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
            **found, "redirect_uris": [found["redirect_uri"]], "messages": list(launch.MESSAGE_TYPES),
            "signing_algorithm": "RS256"}


@router.get("/lti/jwks")
def jwks(services: ServicesDep) -> dict:
    return keys.public_jwks(services.store)


def refused(request: Request, why: Refused | KeysUnavailable, issuer: object = None,
            locale: str | None = None) -> HTMLResponse:
    """The refusal page in the launch's locale (else the browser's language); the log says why in English."""
    log.warning("LTI refused from %s (issuer %r): %s", client_address(request), str(issuer)[:200], why)
    lang = languages.normalise(locale) or render.language(request)
    shown = why if isinstance(why, Refused) else Refused("lti_keys_unavailable")
    return render.page(request, "lti_refused.html", status=400, lang=lang, reason=shown.said(lang))


@router.api_route("/lti/login", methods=["GET", "POST"])
async def login(request: Request, services: ServicesDep) -> Response:
    """The platform's login initiation: remember a state and nonce, send the browser to its auth URL."""
    asked = dict(request.query_params)
    if request.method == "POST":
        asked.update({k: v for k, v in (await edges.form(request)).items() if isinstance(v, str)})
    issuer, hint = asked.get("iss"), asked.get("login_hint")
    if not issuer or not hint or not asked.get("target_link_uri"):
        return refused(request, Refused("lti_login_incomplete"), issuer)
    candidates = await run_in_threadpool(services.store.platforms, issuer)
    if asked.get("client_id"):
        candidates = [p for p in candidates if p.client_id == asked["client_id"]]
    if len(candidates) != 1:
        return refused(request, Refused("lti_no_platform"), issuer)
    platform = candidates[0]
    deployment = asked.get("lti_deployment_id")
    if deployment and deployment not in platform.deployments:
        return refused(request, Refused("lti_unknown_deployment"), issuer)
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
    """The platform's form post of the id_token: verified, then the user signed in and sent to the offering (or,
    for a deep linking request, shown the offerings to pick from)."""
    fields = await edges.form(request)
    token, state = fields.get("id_token"), fields.get("state")
    issuer = locale = None
    try:
        if isinstance(token, str):
            locale = launch.locale_hint(token)
        if isinstance(fields.get("error"), str):
            raise Refused("lti_platform_error", error=fields["error"][:100])
        if not isinstance(token, str) or not isinstance(state, str) or not state:
            raise Refused("lti_no_token")
        started = await run_in_threadpool(services.store.take_login, state)   # used up, whatever follows
        if started is None:
            raise Refused("lti_unknown_state")
        if request.cookies.get(STATE_COOKIE + state) != state:
            raise Refused("lti_other_browser")
        platform = await run_in_threadpool(_platform, services, started.platform_id)
        issuer = platform.issuer
        kid = launch.header(token).get("kid")
        key = await services.platform_keys.key(platform.jwks_url, kid)
        if key is None:
            raise Refused("lti_unknown_kid")
        verified = launch.verify(token, key, platform, started.nonce, time.time())
        arrival = await run_in_threadpool(launchers.arrive, services.store, verified, platform.id)
    except (Refused, KeysUnavailable) as exc:
        return refused(request, exc, issuer, locale)
    if arrival.principal.staff_role == INSTRUCTOR_ROLE and arrival.context.memberships_url:
        roster_sync.sync_later(services.store, arrival.context)
    cookie = Response()
    signin.sign_in(request, cookie, arrival.principal)
    lang = languages.normalise(verified.locale) or render.language(request)
    if verified.message_type == launch.DEEP_LINKING_REQUEST:
        response = await run_in_threadpool(_picker, request, services, verified, platform.id, arrival.course, lang)
    else:
        response = render.page(request, "lti_launched.html", lang=lang, landing=arrival.landing())
    response.headers.append("set-cookie", cookie.headers["set-cookie"])
    if languages.normalise(verified.locale):      # the pages after it speak the LMS's language too
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, httponly=True, secure=True, samesite="strict")
    response.delete_cookie(STATE_COOKIE + state, path="/lti/", secure=True, httponly=True, samesite="none")
    log.info("LTI %s from %s: %s signed in to %s", verified.message_type, issuer, arrival.principal.key,
             arrival.course)
    return response


def _picker(request: Request, services: Services, verified: launch.Launch, platform_id: int, course: str,
            lang: str) -> Response:
    """The deep-link page: the installed assignments (those the course offers first) to pick one from."""
    offered = {o.assignment for o in services.store.offerings(course)}
    choices = sorted(((name, spec.title_in(lang)) for name, spec in services.assignments.items()),
                     key=lambda c: (c[0] not in offered, c[0]))
    return render.page(request, "lti_deep_link.html", lang=lang, choices=choices,
                       course=services.store.course(course).title,
                       ticket=deep_linking.ticket(services.cookie_key, verified, platform_id, course))


@router.post("/lti/deep-link")
async def deep_link(request: Request, services: ServicesDep) -> Response:
    """The picked offering (made without dates if the course lacks it), sent back to the platform as a signed
    LtiDeepLinkingResponse by the browser (the page's form, submitted by /static/lti.js)."""
    fields = await edges.form(request)
    picking = deep_linking.read_ticket(services.cookie_key, fields.get("ticket"))
    name = fields.get("assignment")
    try:
        if picking is None:
            raise Refused("lti_pick_expired")
        if not isinstance(name, str) or name not in services.assignments:
            raise Refused("lti_unknown_assignment")
    except Refused as exc:
        return refused(request, exc)
    await run_in_threadpool(services.store.ensure_offerings, picking.course, [name])
    platform = await run_in_threadpool(_platform, services, picking.platform_id)
    spec = services.assignments[name]
    item = deep_linking.content_item(endpoints(base_url(request, services))["target_link_uri"],
                                     name, spec.title_in("en"), spec.max_score)
    token = await run_in_threadpool(deep_linking.response_token, services.store, platform, picking, item)
    log.info("LTI deep link from %s: course %s links %s", platform.issuer, picking.course, name)
    response = render.page(request, "lti_deep_link_return.html", return_url=picking.return_url, jwt=token)
    target = urlparse(picking.return_url)
    return render.protect(response, render.PAGE_CSP.replace(
        "form-action 'self'", f"form-action {target.scheme}://{target.netloc}"))


def _platform(services: Services, platform_id: int) -> Platform:
    return next(p for p in services.store.platforms() if p.id == platform_id)
