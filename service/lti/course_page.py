"""The course's LTI page for its staff, where a launch from an LMS course lands when its link opens no offering
yet: the course's offerings, its roster as the platform lists it (who left), a roster sync now (its
instructor), and how grades flow back ("grades sent 12 min ago; 2 waiting"). The administrator sees any."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from service import access
from service.access import InCourse
from service.lti import roster_sync
from service.services import Services, ServicesDep
from service.web import render
from service.web.signin import Csrf
from service.web.staff_pages import StaffIn

router = APIRouter(prefix="/lti/courses", route_class=render.PageRoute, include_in_schema=False)


def _page(request: Request, services: Services, here: InCourse, said: tuple[str, dict] | None = None) -> Response:
    row = here.course
    course = row.id
    roster = services.store.roster(course)
    departed = services.store.lti_departed(course)
    syncable = any(c.memberships_url for c in services.store.lti_contexts(course))
    sent_at, waiting = services.store.score_sending(course)
    minutes = int((services.store.clock() - sent_at).total_seconds() // 60) if sent_at else None
    return render.page(request, "lti_course.html", course=row, offerings=services.store.offerings(course),
                       minutes=minutes, waiting=waiting,
                       active=len(roster) - len(departed & {s.id for s in roster}),
                       departed=[s for s in roster if s.id in departed], said=said,
                       syncable=syncable and access.may(here.who, course, access.MANAGE))


@router.get("/{course}")
def course_page(here: Annotated[InCourse, Depends(StaffIn(access.VIEW))], request: Request,
                services: ServicesDep) -> Response:
    return _page(request, services, here)


@router.post("/{course}/roster")
async def sync_roster(here: Annotated[InCourse, Depends(StaffIn(access.MANAGE))], request: Request,
                      services: ServicesDep, _: Csrf) -> Response:
    """Every platform context of the course synced now (its instructor); the page says what changed."""
    joined = left = 0
    try:
        for context in services.store.lti_contexts(here.course.id):
            synced = await roster_sync.sync(services.store, context)
            joined, left = joined + synced.joined, left + synced.left
    except roster_sync.RosterUnavailable as exc:
        roster_sync.log.warning("LTI roster of %s not synced: %s", here.course.id, exc)
        return _page(request, services, here, ("lti_roster_failed", {}))
    return _page(request, services, here, ("lti_roster_synced", {"joined": joined, "left": left}))
