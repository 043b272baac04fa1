"""Sending scores to the platforms (AGS 2.0), from the outbox of score changes (service/store/lti_scores.py):
an API process's background loop looks at the due changes every few seconds and, for each offering whose
lease it takes (one at a time per offering, whichever of the API machines gets it), reads that offering's due
changes and counted scores as the gradebook does, finds or creates its line item (by resource link, else by
resourceId and tag), and posts each changed student's score. A platform that fails puts its changes off with
backoff; grading never waits for any of it. A process that dies holding a lease holds it only until it runs out.
How often it looks and the first backoff are GRADER_LTI_SCORES_EVERY and GRADER_LTI_SCORE_RETRY."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from starlette.concurrency import run_in_threadpool

from service import grades
from service.grades import GradeRow
from service.lti import service_token
from service.store import Store
from service.store.lti_scores import EVERYONE

SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/score"]
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
TAG = "grade"
LEASE = timedelta(minutes=2)   # how long an offering's lease holds unless renewed (a dead holder's runs out)
TIMEOUT = httpx.Timeout(10.0)
log = logging.getLogger("grader.lti")


class SendFailed(Exception):
    """A platform did not take a score (the message says what it answered)."""


def score(row: GradeRow | None, subject: str, maximum: float, at: datetime) -> dict:
    """The AGS score of a student's standing: graded (automatic plus manual), failed, or nothing yet."""
    body = {"userId": subject, "scoreMaximum": maximum, "timestamp": at.isoformat(timespec="milliseconds")}
    if row is not None and row.total is not None:
        return {**body, "scoreGiven": round(row.total, 6), "activityProgress": "Completed",
                "gradingProgress": "FullyGraded"}
    progress = "Failed" if row is not None and row.status == grades.FAILED else "NotReady"
    return {**body, "activityProgress": "Initialized", "gradingProgress": progress}


def scores_url(lineitem: str) -> str:
    """The line item's scores endpoint: `/scores` after its path, its query kept (AGS 2.0, 3.4)."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


async def _answer(call, what: str) -> httpx.Response:
    try:
        answer = await call
    except httpx.HTTPError as exc:
        raise SendFailed(f"the platform's {what} failed ({type(exc).__name__})") from None
    if answer.status_code not in (200, 201, 204):
        raise SendFailed(f"the platform's {what} answered {answer.status_code}")
    return answer


async def _lineitem(client: httpx.AsyncClient, lineitems: str | None, link_id: str, assignment: str,
                    label: str, maximum: float) -> str:
    """The offering's line item at the platform: the link's, or the one with its resourceId and tag, or a new one."""
    if not lineitems:
        raise SendFailed("the platform gave no line items service for this course")
    separator = "&" if "?" in lineitems else "?"
    for query in ({"resource_link_id": link_id}, {"resource_id": assignment, "tag": TAG}):
        found = await _answer(client.get(lineitems + separator + urlencode(query),
                                         headers={"Accept": LINEITEMS_TYPE}), "line items")
        items = found.json() if found.content else []
        if isinstance(items, list) and items and isinstance(items[0], dict) and isinstance(items[0].get("id"), str):
            return items[0]["id"]
    made = await _answer(client.post(lineitems, headers={"Content-Type": LINEITEM_TYPE}, json={
        "scoreMaximum": maximum, "label": label, "resourceId": assignment, "tag": TAG,
        "resourceLinkId": link_id}), "new line item")
    created = made.json()
    if not isinstance(created, dict) or not isinstance(created.get("id"), str):
        raise SendFailed("the platform's new line item has no id")
    return created["id"]


class LeaseLost(Exception):
    """The offering's lease ran out before its sending was done (another machine may be sending it now)."""


class Lease:
    """This process's hold on one offering's sending, renewed as the posts go on (a long roster on a slow
    platform outlasts one lease)."""

    def __init__(self, store: Store, course: str, assignment: str, holder: str) -> None:
        self.store, self.course, self.assignment, self.holder = store, course, assignment, holder
        self.taken = 0.0

    async def take(self) -> bool:
        """Whether this process holds the offering now (taken, or renewed)."""
        if await run_in_threadpool(self.store.take_score_lease, self.course, self.assignment, self.holder, LEASE):
            self.taken = time.monotonic()
            return True
        return False

    async def keep(self) -> None:
        """Renewed once a third of it has gone; LeaseLost if another machine has it now."""
        if time.monotonic() - self.taken > LEASE.total_seconds() / 3 and not await self.take():
            raise LeaseLost(f"the lease of {self.course}/{self.assignment} ran out")

    async def release(self) -> None:
        await run_in_threadpool(self.store.release_score_lease, self.course, self.assignment, self.holder)


async def send_offering(store: Store, course: str, assignment: str, students: set[str], lease: Lease) -> int:
    """Post these students' scores (EVERYONE: the whole roster) to every platform linking the offering, the
    lease kept while posting."""
    record = await run_in_threadpool(store.assignment, assignment)
    rows = {r.student: r for r in await run_in_threadpool(grades.rows, store, record, course)}
    wanted = set(rows) if EVERYONE in students else students
    contexts = {c.issuer: c for c in await run_in_threadpool(store.lti_contexts, course)}
    platforms = {p.id: p for p in await run_in_threadpool(store.platforms)}
    sent = 0
    for link in await run_in_threadpool(store.lti_links, course, assignment):
        await lease.keep()
        context = contexts.get(link.issuer)
        if context is None:
            continue
        try:
            token = await service_token.access_token(platforms[context.platform_id], store, SCOPES)
        except service_token.TokenRefused as exc:
            raise SendFailed(str(exc)) from None
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            lineitem = link.lineitem_url or await _lineitem(client, context.lineitems_url, link.link_id, assignment,
                                                            record.title, record.max_score)
            if lineitem != link.lineitem_url:
                await run_in_threadpool(store.set_lineitem, link.issuer, link.link_id, lineitem)
            for student in sorted(wanted):
                await lease.keep()
                subject = await run_in_threadpool(store.lti_subject, link.issuer, student)
                if subject is None:
                    continue          # not this platform's user
                body = score(rows.get(student), subject, record.max_score, datetime.now(UTC))
                await _answer(client.post(scores_url(lineitem), json=body, headers={"Content-Type": SCORE_TYPE}),
                              "score post")
                sent += 1
    return sent


async def send_due(store: Store, holder: str, retry: timedelta) -> int:
    """One look at the outbox: each offering whose lease `holder` takes has its due changes (read again under
    the lease: another machine may have just sent them) sent, or put off (`retry` after a first failure); the
    scores posted."""
    offerings = dict.fromkeys((c.course, c.assignment) for c in await run_in_threadpool(store.due_score_changes))
    posted = 0
    for course, assignment in offerings:
        lease = Lease(store, course, assignment, holder)
        if not await lease.take():
            continue                  # another API machine is sending this offering
        try:
            posted += await _send_changes(store, lease, retry)
        finally:
            await lease.release()
    return posted


async def _send_changes(store: Store, lease: Lease, retry: timedelta) -> int:
    course, assignment = lease.course, lease.assignment
    changes = await run_in_threadpool(store.due_score_changes, offering=(course, assignment))
    if not changes:
        return 0
    ids = [c.id for c in changes]
    try:
        posted = await send_offering(store, course, assignment, {c.student for c in changes}, lease)
    except LeaseLost as exc:
        log.warning("LTI scores of %s/%s left to the machine that holds them now: %s", course, assignment, exc)
        return 0
    except SendFailed as exc:
        attempts = max(c.attempts for c in changes) + 1
        later = await run_in_threadpool(store.score_changes_failed, ids, str(exc), attempts, retry)
        log.warning("LTI scores of %s/%s not sent (try %d, next at %s): %s", course, assignment, attempts,
                    later.isoformat(timespec="seconds"), exc)
        return 0
    await run_in_threadpool(store.score_changes_sent, ids, course)
    return posted


class ScoreSender:
    """The API process's loop over the outbox (started and stopped with the app)."""

    def __init__(self, store: Store, every: float, retry: timedelta) -> None:
        self.store, self.every, self.retry = store, every, retry
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"   # this process, in leases
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await send_due(self.store, self.holder, self.retry)
            except Exception:   # noqa: BLE001 - the loop outlives any one look (a database hiccup, a bug)
                log.exception("LTI score sending failed; trying again")
            await asyncio.sleep(self.every)
