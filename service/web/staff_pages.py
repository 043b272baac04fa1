"""Course staff pages: a course switcher, each offering's dates with their consequences in words, the dates
form and extensions (a course's instructor), results with late work, the audit log (its instructor).

Who may do what in a course is `service.access.in_course`'s, as for the API: a TA's page has no dates or
extension form, and their posts are refused (403). Changes go through service.offerings, as the API's do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from service import access, edges, grades, offerings
from service.access import InCourse
from service.models import Course
from service.services import Services, ServicesDep
from service.web import course_view, render
from service.web.signin import BrowserSession, Csrf, StaffSession

router = APIRouter(prefix="/staff", route_class=render.PageRoute, include_in_schema=False)


class DatesForm(BaseModel):
    """The dates form: times as datetime-local values in the course's time zone, the penalty in percent."""

    opens: str = Field("", max_length=40)
    due: str = Field("", max_length=40)
    late_until: str = Field("", max_length=40)
    late_penalty_pct: float = Field(0.0, ge=0, le=100)
    counts: Literal["latest", "best"] = "latest"
    visible_before_opens: str = ""


class ExtensionForm(BaseModel):
    student: str = Field(max_length=100)
    due: str = Field("", max_length=40)
    late_until: str = Field("", max_length=40)


def _courses(services: Services, visit: BrowserSession) -> list[Course]:
    """The switcher's courses: every course for the administrator, a staff member's own."""
    if visit.principal is not None and visit.principal.is_instructor:
        return services.store.courses()
    return [c for c in (services.store.course(m.course) for m in visit.staff) if c is not None]


class StaffIn:
    """A course page's dependency (before its form is read): the course if it is the caller's (404 otherwise),
    403 when the caller may not do what the route does (a TA on dates or extensions)."""

    def __init__(self, need: str) -> None:
        self.need = need

    def __call__(self, course: str, services: ServicesDep, visit: StaffSession) -> InCourse:
        return access.in_course(services.store, visit.in_course(course), course, self.need)


Viewing = Annotated[InCourse, Depends(StaffIn(access.VIEW))]
Managing = Annotated[InCourse, Depends(StaffIn(access.MANAGE))]


def _page(request: Request, services: Services, visit: BrowserSession, here: InCourse, template: str,
          status: int = 200, **context) -> Response:
    """A course page with what each of them shows: the switcher and what the caller may do here."""
    return render.page(request, template, status=status, course=here.course, courses=_courses(services, visit),
                       manages=access.may(here.who, here.course.id, access.MANAGE), **context)


@router.get("")
def home(services: ServicesDep, visit: StaffSession) -> Response:
    """The first of the caller's courses (the switcher on every course page leads to the others)."""
    mine = _courses(services, visit)
    if not mine:
        raise HTTPException(404)
    return render.redirect(f"/staff/{mine[0].id}")


@router.get("/{course}")
def course_page(course: str, request: Request, services: ServicesDep, visit: StaffSession, here: Viewing) -> Response:
    lang = render.language(request)
    listed = [{"name": o.assignment, "title": services.assignments[o.assignment].title_in(lang),
               "said": course_view.consequences(o, here.course.time_zone)}
              for o in services.store.offerings(course) if o.assignment in services.assignments]
    return _page(request, services, visit, here, "staff_course.html", offerings=listed)


def _offering_page(request: Request, services: Services, visit: BrowserSession, here: InCourse, assignment: str,
                   error: str = "", status: int = 200) -> Response:
    offering = services.store.offering(here.course.id, assignment)
    row = services.store.assignment(assignment)
    if offering is None or row is None or assignment not in services.assignments:
        raise HTTPException(404)
    zone = here.course.time_zone
    names = {s.id: s.name for s in services.store.roster(here.course.id)}
    form = {f: course_view.local_input(getattr(offering, f), zone) for f in ("opens", "due", "late_until")}
    extended = [{"student": e.student, "name": names.get(e.student, e.student), "due": offerings.shown(e.due, zone),
                 "late_until": offerings.shown(e.late_until, zone)}
                for e in services.store.extensions(here.course.id, assignment)]
    return _page(request, services, visit, here, "staff_offering.html", status=status, offering=offering,
                 name=assignment, title=services.assignments[assignment].title_in(render.language(request)),
                 said=course_view.consequences(offering, zone), form=form,
                 penalty_pct=f"{offering.late_penalty_per_day * 100:g}",
                 extensions=extended, students=sorted(names.items()), error=error,
                 results=grades.rows(services.store, row, here.course.id))


@router.get("/{course}/offerings/{assignment}")
def offering_page(assignment: str, request: Request, services: ServicesDep, visit: StaffSession,
                  here: Viewing) -> Response:
    return _offering_page(request, services, visit, here, assignment)


def _refused(request: Request, services: Services, visit: BrowserSession, here: InCourse, assignment: str,
             exc: HTTPException) -> Response:
    """A form's change refused for what was entered: the offering's page again, saying why."""
    if exc.status_code not in (404, 422):
        raise exc
    key = "dates_out_of_order" if exc.status_code == 422 else "no_such_student"
    return _offering_page(request, services, visit, here, assignment, error=render.translate(request)(key),
                          status=exc.status_code)


def _changed(request: Request, services: Services, visit: BrowserSession, here: InCourse, assignment: str,
             change: Callable[[], object]) -> Response:
    """A form's change made (back to the offering's page), or refused for what was entered (the page, saying
    why: dates out of order are a ValueError, an unknown student a 404)."""
    try:
        change()
    except ValueError:
        return _refused(request, services, visit, here, assignment, HTTPException(422))
    except HTTPException as exc:
        return _refused(request, services, visit, here, assignment, exc)
    return render.redirect(f"/staff/{here.course.id}/offerings/{assignment}")


@router.post("/{course}/offerings/{assignment}/dates")
def set_dates(course: str, assignment: str, request: Request, services: ServicesDep, visit: StaffSession,
              here: Managing, _: Csrf, form: Annotated[DatesForm, Depends(edges.form_fields(DatesForm))]) -> Response:
    if services.store.offering(course, assignment) is None:
        raise HTTPException(404)
    zone = here.course.time_zone

    def change() -> None:
        moments = {f: course_view.from_local(getattr(form, f), zone) for f in ("opens", "due", "late_until")}
        offerings.change_dates(services.store, course, assignment, here.who.actor, **moments,
                               late_penalty_per_day=form.late_penalty_pct / 100, counts=form.counts,
                               visible_before_opens=bool(form.visible_before_opens))
    return _changed(request, services, visit, here, assignment, change)


@router.post("/{course}/offerings/{assignment}/extensions")
def set_extension(course: str, assignment: str, request: Request, services: ServicesDep, visit: StaffSession,
                  here: Managing, _: Csrf,
                  form: Annotated[ExtensionForm, Depends(edges.form_fields(ExtensionForm))]) -> Response:
    zone = here.course.time_zone
    return _changed(request, services, visit, here, assignment, lambda: offerings.grant_extension(
        services.store, course, assignment, form.student.strip(), here.who.actor,
        course_view.from_local(form.due, zone), course_view.from_local(form.late_until, zone)))


@router.get("/{course}/audit")
def audit(course: str, request: Request, services: ServicesDep, visit: StaffSession, here: Managing) -> Response:
    rows = course_view.audit_rows(services.store.audit_log(course), services.store.staff(course),
                                  here.course.time_zone)
    return _page(request, services, visit, here, "staff_audit.html", entries=rows, actions=course_view.ACTIONS)
