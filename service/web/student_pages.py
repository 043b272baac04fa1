"""Student pages: their courses with their dates, assignments with best and latest score, each course's offering
(`/courses/<course>/assignments/<name>`; course `default`'s also at `/assignments/<name>`, the same route) with
its upload into that offering and its history, results with live status.

A student sees only their own submissions: anything else answers 404, exactly as a missing id does.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from service import edges, grades, lateness, offerings, uploads
from service.access import installed_assignment, visible_submission
from service.models import DEFAULT_COURSE, DONE, FINISHED, QUEUED, RECEIVED, RUNNING, Submission
from service.principals import Principal
from service.services import Services, ServicesDep
from service.status import QueueView, submission_status
from service.store import Attempt
from service.web import links, prepared, render, report_pane, signin
from service.web.signin import StudentViewer, UploadCsrf, Viewer

router = APIRouter(route_class=render.PageRoute, include_in_schema=False)
PHASES = (RECEIVED, QUEUED, RUNNING, DONE)   # the steps the result page shows while it waits
WAIT_SECONDS = 20.0           # a long poll's longest wait while running (well within a proxy's idle timeout)
WAIT_IN_LINE_SECONDS = 3.0    # ... while received or queued: its place in line is news too


def page_course(request: Request) -> str:
    """The course of a student's offering page: the path's, or `default` for the addresses before courses."""
    return request.path_params.get("course", DEFAULT_COURSE)


PageCourse = Annotated[str, Depends(page_course)]


@router.get("/assignments")
def assignments(request: Request, services: ServicesDep, who: StudentViewer) -> Response:
    attempts = services.store.attempts(student=who.student, course=DEFAULT_COURSE)
    lang = render.language(request)
    items = []
    for a in (a for a in services.store.assignments() if a.name in services.assignments):
        mine = [x for x in attempts if x.submission.assignment == a.name]
        scores = [x.result.score for x in mine if x.result]
        latest = next((x for x in mine if x.result), None)
        items.append({"name": a.name, "title": services.assignments[a.name].title_in(lang), "max_score": a.max_score,
                      "best": max(scores) if scores else None, "latest": latest.result.score if latest else None,
                      "latest_status": mine[0].submission.status if mine else None})
    return render.page(request, "assignments.html", items=items)


@router.get("/courses")
def my_courses(request: Request, services: ServicesDep, who: StudentViewer) -> Response:
    """The student's courses and, per offering they see, its page and their dates as that page says them."""
    lang = render.language(request)
    listed = []
    for course in services.store.courses(student=who.student):
        shown = []
        for o in services.store.offerings(course.id):
            if o.assignment not in services.assignments or not offerings.shown_to(services.store, o, who.student):
                continue
            attempts = services.store.attempts(student=who.student, assignment=o.assignment, course=course.id)
            dates = offerings.page_facts(services.store, course.id, o.assignment, who.student, attempts)
            shown.append({"name": o.assignment, "title": services.assignments[o.assignment].title_in(lang),
                          "dates": dates, "phase": (dates or {}).get("phase", lateness.OPEN),
                          "page": links.offering_page(course.id, o.assignment)})
        listed.append({"id": course.id, "title": course.title, "term": course.term, "offerings": shown})
    return render.page(request, "courses.html", courses=listed)


def _assignment_page(request: Request, services: Services, who: Principal, course: str, name: str,
                     error: str | None = None, status: int = 200) -> Response:
    """The student's page of a course's offering; 404 unless they are enrolled and it is shown to them."""
    title = installed_assignment(services, name).title_in(render.language(request))
    offerings.visible(services.store, course, name, who.student)
    max_bytes = services.settings.grader.max_notebook_bytes
    attempts = services.store.attempts(student=who.student, assignment=name, course=course)
    page = links.offering_page(course, name)
    named = services.store.course(course) if course != DEFAULT_COURSE else None   # default: as before courses
    return render.page(request, "assignment.html", status=status, name=name, title=title, error=error, page=page,
                       course_title=named.title if named else None,
                       attempts=attempts, max_bytes=max_bytes, max_mb=round(max_bytes / 2**20, 1),
                       dates=offerings.page_facts(services.store, course, name, who.student, attempts))


@router.get("/assignments/{name}")
@router.get("/courses/{course}/assignments/{name}")
def assignment(name: str, request: Request, services: ServicesDep, who: StudentViewer,
               course: PageCourse) -> Response:
    return _assignment_page(request, services, who, course, name)


@router.post("/assignments/{name}/submit")
@router.post("/courses/{course}/assignments/{name}/submit")
@edges.upload
async def submit(name: str, request: Request, services: ServicesDep, who: StudentViewer, course: PageCourse,
                 _: UploadCsrf) -> Response:
    """The API's intake for the course's offering (its dates refused as the API does, in the page's language);
    a refused file is answered in the page and nothing is stored."""
    wants_json = "application/json" in request.headers.get("accept", "")
    lang = render.language(request)
    installed_assignment(services, name)
    try:
        submission = await uploads.accept(services, request, who.student, name, lang,
                                          form_check=functools.partial(signin.check_form_token, request),
                                          course=course)
    except HTTPException as exc:
        if exc.status_code == 404:
            raise
        message = _upload_error(exc, render.translate(request))
        if wants_json:
            return render.protect(JSONResponse({"error": message}, status_code=exc.status_code))
        return await run_in_threadpool(_assignment_page, request, services, who, course, name, message,
                                       exc.status_code)
    page = f"/submissions/{submission.id}"
    if wants_json:
        return render.protect(JSONResponse({"id": submission.id, "page": page,
                                            "status_url": f"{page}/status"}, status_code=202))
    return render.redirect(page)


def _upload_error(exc: HTTPException, t) -> str:
    if exc.status_code == 415 and "ipynb" in str(exc.detail):
        return t("err_file_type")
    if exc.status_code == 429:
        return t("err_rate", seconds=(exc.headers or {}).get("Retry-After", "60"))
    if exc.status_code in (413, 422):
        return str(exc.detail)
    return t("err_upload", detail=exc.detail)


def _result_view(request: Request, services: Services, submission: Submission) -> dict:
    """What the result page shows of a submission (its status, then its report): _result.html's context."""
    lang = render.language(request)
    title = installed_assignment(services, submission.assignment).title_in(lang)
    recorded = services.store.result(submission.id)
    report = recorded.report if recorded else None
    manual = grades.manual_mark(services.store.manual_grade(submission.id), submission.id,
                                submission.received_at)
    dates = offerings.page_facts(services.store, submission.course, submission.assignment, submission.student,
                                 [Attempt(submission, recorded)])
    return dict(submission=submission, title=title, finished=submission.status in FINISHED, phases=PHASES,
                report=report, turn_limit=services.settings.max_active_per_student, dates=dates,
                offering_page=links.offering_page(submission.course, submission.assignment),
                turn_ahead=QueueView(services.store).turns_ahead(submission) if submission.status == RECEIVED else None,
                **report_pane.context(services, submission.id, report, manual, lang, render.translate(request)))


@router.get("/submissions/{submission_id}")
def result(submission_id: str, request: Request, services: ServicesDep, who: Viewer) -> Response:
    submission = visible_submission(services.store, who, submission_id)
    return render.page(request, "result.html", **_result_view(request, services, submission))


@router.get("/submissions/{submission_id}/status")
async def status(submission_id: str, request: Request, services: ServicesDep, who: Viewer,
                 after: str | None = None) -> Response:
    """The API's status object (without the report), for the result page. With `after` (the status the page
    shows) a long poll: answered once the status is another, or after a bounded wait (`WAIT_SECONDS`; shorter
    while it waits in line, whose place moves); once finished, with the result's HTML (`html`) for the page to
    swap in at once. `waited`: `changed`, `timeout`, `busy` (answered at once: this user holds its share of waits,
    so the page asks again a little later), or null (no wait asked, or none needed)."""
    submission = await run_in_threadpool(visible_submission, services.store, who, submission_id)
    outcome = None
    if after is not None and submission.status == after and submission.status not in FINISHED:
        seconds = WAIT_SECONDS if submission.status == RUNNING else WAIT_IN_LINE_SECONDS
        outcome = await services.status_watch.wait(submission.id, who.key, after, seconds)
        if outcome == "changed":
            submission = await run_in_threadpool(visible_submission, services.store, who, submission_id)
    view = await run_in_threadpool(submission_status, services.store, submission, False)
    view["waited"] = outcome
    if after is not None and submission.status in FINISHED:
        view["html"] = await run_in_threadpool(
            lambda: render.fragment(request, "_result.html", **_result_view(request, services, submission)))
    return render.protect(JSONResponse(view))


@router.get("/submissions/{submission_id}/plots/{kind}.svg")
def plot(submission_id: str, kind: str, request: Request, services: ServicesDep, who: Viewer) -> Response:
    submission = visible_submission(services.store, who, submission_id)
    recorded = services.store.result(submission.id)
    svg = prepared.picture(services.store, submission.id, recorded.report, kind) if recorded else None
    if svg is None:
        raise HTTPException(404)
    return render.svg_response(svg)
