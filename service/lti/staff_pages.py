"""The course's LTI page for its staff, where an instructor's launch lands: the course's offerings, its roster
as the platform lists it (who left), a roster sync now, and how grades are flowing back ("grades sent 12 min
ago; 2 waiting"). The administrator sees every course's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from service.auth import Principal
from service.lti import roster_sync
from service.services import Services, ServicesDep
from service.web import render, signin
from service.web.signin import Csrf

router = APIRouter(prefix="/lti/courses", route_class=render.PageRoute, include_in_schema=False)


def course_staff(course: str, who: Annotated[Principal, Depends(signin.signed_in)]) -> str:
    """The course, if the caller is its staff (or the administrator); 404 otherwise, as for no such course."""
    if not who.sees_course(course):
        raise HTTPException(404)
    return course


Staffed = Annotated[str, Depends(course_staff)]


def _page(request: Request, services: Services, course: str, said: tuple[str, dict] | None = None) -> Response:
    row = services.store.course(course)
    if row is None:
        raise HTTPException(404)
    roster = services.store.roster(course)
    departed = services.store.lti_departed(course)
    syncable = any(c.memberships_url for c in services.store.lti_contexts(course))
    sent_at, waiting = services.store.score_sending(course)
    minutes = int((services.store.clock() - sent_at).total_seconds() // 60) if sent_at else None
    return render.page(request, "lti_course.html", course=row, offerings=services.store.offerings(course),
                       minutes=minutes, waiting=waiting,
                       active=len(roster) - len(departed & {s.id for s in roster}),
                       departed=[s for s in roster if s.id in departed], syncable=syncable, said=said)


@router.get("/{course}")
def course_page(course: Staffed, request: Request, services: ServicesDep) -> Response:
    return _page(request, services, course)


@router.post("/{course}/roster")
async def sync_roster(course: Staffed, request: Request, services: ServicesDep, _: Csrf) -> Response:
    """Every platform context of the course synced now; the page says what changed or why it could not."""
    joined = left = 0
    try:
        for context in services.store.lti_contexts(course):
            synced = await roster_sync.sync(services.store, context)
            joined, left = joined + synced.joined, left + synced.left
    except roster_sync.RosterUnavailable as exc:
        roster_sync.log.warning("LTI roster of %s not synced: %s", course, exc)
        return _page(request, services, course, ("lti_roster_failed", {}))
    return _page(request, services, course, ("lti_roster_synced", {"joined": joined, "left": left}))
