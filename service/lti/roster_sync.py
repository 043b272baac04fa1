"""Roster sync from a context's Names and Role Provisioning Service (NRPS 2.0): the membership container, page
by page (its `Link: rel="next"`), fetched with a service token, read into members, written by the store. Run on
demand by staff and after each instructor launch (in the background: the launch never waits for it)."""

from __future__ import annotations

import asyncio
import logging

import httpx
from starlette.concurrency import run_in_threadpool

from service.lti import launchers, service_token
from service.store import Context, Member, Store, Synced

SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
TIMEOUT = httpx.Timeout(15.0)
MAX_PAGES = 100             # a class of thousands is a few pages; more is a platform looping
log = logging.getLogger("grader.lti")
_running: set[asyncio.Task] = set()     # background syncs, kept referenced until they end


class RosterUnavailable(Exception):
    """The platform's roster could not be read (the message says why, for the log and staff)."""


def members_of(container: object) -> list[Member]:
    """The members a container lists (entries without a user_id are skipped); status Active unless said."""
    listed = container.get("members") if isinstance(container, dict) else None
    if not isinstance(listed, list):
        raise RosterUnavailable("the membership container has no members list")
    found = []
    for m in listed:
        if not isinstance(m, dict) or not isinstance(m.get("user_id"), str) or not m["user_id"]:
            continue
        roles = [r for r in m.get("roles", []) if isinstance(r, str)] if isinstance(m.get("roles"), list) else []
        if launchers.staff_role(roles) is None and not launchers.is_learner(roles):
            continue
        text = {k: m[k][:200] if isinstance(m.get(k), str) else "" for k in ("name", "email")}
        found.append(Member(m["user_id"][:255], text["name"], text["email"], launchers.staff_role(roles),
                            m.get("status", "Active") == "Active"))
    return found


async def fetch_members(store: Store, context: Context) -> list[Member]:
    """Every page of the context's membership container."""
    if not context.memberships_url:
        raise RosterUnavailable("the platform gave no membership service for this course")
    platform = next(p for p in await run_in_threadpool(store.platforms) if p.id == context.platform_id)
    try:
        token = await service_token.access_token(platform, store, [SCOPE])
    except service_token.TokenRefused as exc:
        raise RosterUnavailable(str(exc)) from None
    members: list[Member] = []
    url: str | None = context.memberships_url
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
        for _ in range(MAX_PAGES):
            if url is None:
                return members
            try:
                answer = await client.get(url, headers={"Accept": MEDIA_TYPE, "Authorization": f"Bearer {token}"})
                body = answer.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise RosterUnavailable(f"the membership service failed ({type(exc).__name__})") from None
            if answer.status_code != 200:
                raise RosterUnavailable(f"the membership service answered {answer.status_code}")
            members += members_of(body)
            url = answer.links.get("next", {}).get("url")
    raise RosterUnavailable(f"the membership service has more than {MAX_PAGES} pages")


async def sync(store: Store, context: Context) -> Synced:
    """The course's roster brought in line with the platform's listing."""
    members = await fetch_members(store, context)
    synced = await run_in_threadpool(store.sync_lti_roster, context.issuer, context.course, members)
    log.info("LTI roster of %s from %s: %d active, %d joined, %d left", context.course, context.issuer,
             synced.active, synced.joined, synced.left)
    return synced


def sync_later(store: Store, context: Context) -> None:
    """`sync` in the background (after an instructor's launch); a failure is logged, never the launch's."""
    async def run() -> None:
        try:
            await sync(store, context)
        except RosterUnavailable as exc:
            log.warning("LTI roster of %s from %s not synced: %s", context.course, context.issuer, exc)

    task = asyncio.get_running_loop().create_task(run())
    _running.add(task)
    task.add_done_callback(_running.discard)
