"""Course endpoints: courses and their staff (the administrator, a course's instructor), roster, offerings with
dates and extensions (its instructor), uploads within the dates (its students), results with late work and
the audit log. Who may do what is `service.access.CourseRole`'s; every change is in the audit log."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from grader.languages import from_accept_language
from service import edges, grades, lifecycle, offerings, uploads
from service.access import Grader, InCourse, Learner, Manager, Member, Viewer, visible_submission
from service.api.instructor import import_roster
from service.api.submissions import accepted
from service.auth import Caller, Instructor
from service.models import INSTRUCTOR_ROLE, TA_ROLE, Assignment, Submission
from service.services import Services, ServicesDep
from service.store import CourseError
from service.store.course_records import offering_facts

router = APIRouter(prefix="/api/courses", tags=["courses"])
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")     # fullmatch on a bounded string: no backtracking blow-up


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Asia/Tokyo)") from None
    return name


def _slug(value: str) -> str:
    if not SLUG.fullmatch(value):
        raise ValueError("an id is lower-case letters, digits, '-' and '_' (at most 100)")
    return value


Slug = Annotated[str, Field(max_length=100), AfterValidator(_slug)]


class NewCourse(BaseModel):
    id: Slug
    title: str = Field(max_length=500)
    term: str = Field("", max_length=200)
    time_zone: Annotated[str, Field(max_length=64), AfterValidator(_zone)] = "Asia/Tokyo"


class NewStaff(BaseModel):
    id: Slug
    name: str = Field(max_length=500)
    role: Literal["instructor", "ta"]


class OfferingDates(BaseModel):
    """ISO 8601 with an offset (`2027-01-20T17:00:00+09:00`); null: no such limit."""

    opens: AwareDatetime | None = None
    due: AwareDatetime | None = None
    late_until: AwareDatetime | None = None
    late_penalty_per_day: float = Field(0.0, ge=0, le=1)
    counts: Literal["latest", "best"] = "latest"
    visible_before_opens: bool = False


class ExtensionDates(BaseModel):
    due: AwareDatetime | None = None
    late_until: AwareDatetime | None = None


class ManualGradeBody(BaseModel):
    score: float
    comment: str = Field("", max_length=5000)


def _offered(services: Services, assignment: str) -> Assignment:
    row = services.store.assignment(assignment)
    if row is None or assignment not in services.assignments:
        raise HTTPException(404, f"no assignment {assignment!r}")
    return row


@router.post("", status_code=201, openapi_extra=edges.openapi_body(NewCourse))
def create_course(services: ServicesDep, who: Instructor,
                  body: Annotated[NewCourse, Depends(edges.json_body(NewCourse))]) -> dict:
    """A new course (the administrator's): its id, title, term and time zone."""
    try:
        row = services.store.create_course(body.id, body.title, body.term, body.time_zone, who.actor)
    except CourseError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"id": row.id, "title": row.title, "term": row.term, "time_zone": row.time_zone}


@router.post("/{course}/staff", status_code=201, openapi_extra=edges.openapi_body(NewStaff))
def add_staff(here: Manager, services: ServicesDep,
              body: Annotated[NewStaff, Depends(edges.json_body(NewStaff))]) -> dict:
    """A staff account (the administrator's or the course instructor's); its token is shown only now."""
    role = INSTRUCTOR_ROLE if body.role == "instructor" else TA_ROLE
    try:
        made = services.store.add_staff(here.course.id, body.id, body.name, role, here.who.actor)
    except CourseError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"id": made.member.id, "name": made.member.name, "role": made.member.role, "token": made.token}


@router.post("/{course}/staff/{staff_id}/token", status_code=201)
def rotate_staff_token(staff_id: str, here: Manager, services: ServicesDep) -> dict:
    """A fresh token for a staff account; the old one stops working."""
    token = services.store.rotate_staff_token(here.course.id, staff_id, here.who.actor)
    if token is None:
        raise HTTPException(404, f"no staff {staff_id!r}")
    return {"id": staff_id, "token": token}


@router.post("/{course}/roster", status_code=201)
@edges.upload
async def roster(request: Request, here: Manager, services: ServicesDep) -> dict:
    """CSV `id,name,email` enrolled in the course, as `/api/roster`: new students' tokens shown only now."""
    return await import_roster(request, services, here.course.id, here.who.actor)


@router.get("")
def list_courses(services: ServicesDep, who: Caller) -> dict:
    """The caller's courses: all for the administrator, a staff member's own, a student's enrolled ones."""
    if who.is_instructor:
        rows = services.store.courses()
    elif who.is_student:
        rows = services.store.courses(student=who.student)
    else:
        rows = [c for c in [services.store.course(who.course or "")] if c]
    return {"courses": [{"id": c.id, "title": c.title, "term": c.term, "time_zone": c.time_zone} for c in rows]}


@router.get("/{course}/offerings")
def list_offerings(here: Member, services: ServicesDep) -> dict:
    """The course's offerings with their dates (a student: those they may see, with their own dates, the
    phase they are in now and their late days if they submitted now)."""
    rows = services.store.offerings(here.course.id)
    if not here.who.is_student:
        return {"course": here.course.id, "time_zone": here.course.time_zone,
                "offerings": [offering_facts(o) | {"assignment": o.assignment} for o in rows]}
    return {"course": here.course.id, "time_zone": here.course.time_zone,
            "offerings": [offerings.for_student(services.store, o, here.who.student) for o in rows
                          if offerings.shown_to(services.store, o, here.who.student)]}


@router.put("/{course}/offerings/{assignment}", openapi_extra=edges.openapi_body(OfferingDates))
def set_offering(assignment: str, here: Manager, services: ServicesDep,
                 body: Annotated[OfferingDates, Depends(edges.json_body(OfferingDates))]) -> dict:
    """Offer an assignment in the course with its dates and late-work policy (or change them)."""
    _offered(services, assignment)
    row = offerings.change_dates(services.store, here.course.id, assignment, here.who.actor, **body.model_dump())
    return offering_facts(row) | {"assignment": assignment, "course": here.course.id}


@router.put("/{course}/offerings/{assignment}/extensions/{student}", openapi_extra=edges.openapi_body(ExtensionDates))
def set_extension(assignment: str, student: str, here: Manager, services: ServicesDep,
                  body: Annotated[ExtensionDates, Depends(edges.json_body(ExtensionDates))]) -> dict:
    """A student's own due time and close on an offering."""
    row = offerings.grant_extension(services.store, here.course.id, assignment, student, here.who.actor,
                                    body.due, body.late_until)
    return {"assignment": assignment, "student": student, "due": row.due.isoformat() if row.due else None,
            "late_until": row.late_until.isoformat() if row.late_until else None}


@router.post("/{course}/offerings/{assignment}/submissions", status_code=202)
@edges.upload
async def submit(assignment: str, request: Request, response: Response, here: Learner,
                 services: ServicesDep) -> dict:
    """Upload one notebook (multipart field `file`): 202 once stored and queued; 403 before the offering opens
    or after the student's close (nothing stored), 404 while it is not shown."""
    if assignment not in services.assignments:
        raise HTTPException(404, f"no assignment {assignment!r}")
    lang = from_accept_language(request.headers.get("accept-language"))
    submission = await uploads.accept(services, request, here.who.student, assignment, lang,
                                      course=here.course.id)
    response.headers["Location"] = str(request.url_for("submission_status", submission_id=submission.id))
    return accepted(request, services, submission) | {"late_days": submission.late_days}


def _rows(services: Services, course: str, assignment: str) -> tuple[Assignment, list[grades.GradeRow]]:
    row = _offered(services, assignment)
    if services.store.offering(course, assignment) is None:
        raise HTTPException(404, f"no assignment {assignment!r} in course {course!r}")
    return row, grades.rows(services.store, row, course)


@router.get("/{course}/offerings/{assignment}/results")
def results(assignment: str, here: Viewer, services: ServicesDep) -> dict:
    """One row per roster student: raw score, late days, penalty, the score that counts, the manual score,
    status and per-unit scores."""
    row, rows = _rows(services, here.course.id, assignment)
    out = []
    for g in rows:
        c = g.counted
        out.append({"student": g.student, "name": g.name, "status": g.status, "manual_score": g.manual_score,
                    **({"submission": c.submission, "received": c.received.isoformat(), "raw_score": c.raw_score,
                        "late_days": c.late_days, "penalty": c.penalty, "score": c.score, "max_score": c.max_score,
                        "units": c.unit_scores} if c else
                       {"submission": None, "received": None, "raw_score": None, "late_days": None,
                        "penalty": None, "score": None, "max_score": row.max_score, "units": None})})
    return {"course": here.course.id, "assignment": assignment,
            "offering": offering_facts(services.store.offering(here.course.id, assignment)), "units": row.units,
            "results": out}


@router.get("/{course}/offerings/{assignment}/results.csv", response_class=Response)
def results_csv(assignment: str, here: Viewer, services: ServicesDep) -> Response:
    """The results as CSV, with the late columns and the manual grade."""
    row, rows = _rows(services, here.course.id, assignment)
    return Response(grades.to_csv(rows, row.units, with_manual=True, with_late=True),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{here.course.id}-{assignment}.csv"'})


def _course_submission(services: Services, here: InCourse, submission_id: str) -> Submission:
    submission = visible_submission(services.store, here.who, submission_id)
    if submission.course != here.course.id:
        raise HTTPException(404, "no such submission")
    return submission


@router.post("/{course}/submissions/{submission_id}/regrade", status_code=202)
def regrade(submission_id: str, request: Request, here: Grader, services: ServicesDep) -> dict:
    """Grade one finished submission of the course again (instructors and TAs)."""
    submission = _course_submission(services, here, submission_id)
    if not lifecycle.regrade(services.store, services.publisher, submission.id, here.who.actor, here.course.id):
        raise HTTPException(409, f"submission is {submission.status}; only done or failed ones are regraded")
    return accepted(request, services, services.store.submission(submission.id))


@router.put("/{course}/submissions/{submission_id}/manual", openapi_extra=edges.openapi_body(ManualGradeBody))
def manual_grade(submission_id: str, here: Grader, services: ServicesDep,
                 body: Annotated[ManualGradeBody, Depends(edges.json_body(ManualGradeBody))]) -> dict:
    """The student's manual grade on the submission's assignment (instructors and TAs)."""
    submission = _course_submission(services, here, submission_id)
    services.store.set_manual_grade(submission.id, body.score, body.comment.strip(), here.who.actor)
    return {"submission": submission.id, "score": body.score, "comment": body.comment.strip()}


@router.get("/{course}/audit")
def audit(here: Manager, services: ServicesDep) -> dict:
    """The course's audit log, newest first: who, when, what, before and after (nothing edits it)."""
    return {"course": here.course.id, "entries": [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "subject": e.subject, "before": e.before,
         "after": e.after} for e in services.store.audit_log(here.course.id)]}
