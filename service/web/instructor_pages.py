"""Instructor pages: the class matrix, histogram and common failures, a student's report beside their
notebook, manual grades for written parts, regrades, the gradebook CSV, the roster, the service's health.
The administrator's; a submission's page (its report, manual grade, regrade) is also its course staff's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service import edges, grades, lifecycle, status
from service.access import installed_assignment, visible_submission
from service.models import FAILED, IN_PROGRESS, Assignment, Submission
from service.principals import Principal
from service.services import Services, ServicesDep
from service.store import RosterError
from service.web import class_view, notebook_view, plots, prepared, render, report_pane, report_view, signin, written
from service.web.signin import BrowserSession, Csrf, InstructorViewer, StaffSession, UploadCsrf

router = APIRouter(prefix="/instructor", route_class=render.PageRoute, include_in_schema=False)
NOTEBOOK_CSS = (render.HERE / "static" / "notebook.css").read_text(encoding="utf-8")


def _home(request: Request, services: Services, **extra) -> Response:
    live = {w.name for w in services.store.live_workers()}
    lang = render.language(request)
    return render.page(
        request, "instructor_home.html",
        assignments=[{"name": a.name, "title": services.assignments[a.name].title_in(lang)}
                     for a in services.store.assignments() if a.name in services.assignments],
        in_progress=services.store.attempts(statuses=IN_PROGRESS),
        failures=services.store.attempts(statuses=(FAILED,)),
        workers=[{"name": w.name, "host": w.host, "state": w.state, "seen_at": w.seen_at, "alive": w.name in live}
                 for w in services.store.workers()],
        live=len(live), **extra)


@router.get("")
def home(request: Request, services: ServicesDep, _: InstructorViewer) -> Response:
    return _home(request, services)


@router.post("/roster")
@edges.upload
async def roster(request: Request, services: ServicesDep, _: InstructorViewer, __: UploadCsrf) -> Response:
    """Import the roster CSV; the new students' tokens are shown on this answer only."""
    form = await edges.form(request)
    signin.check_form_token(request, form)
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise RosterError("a CSV file is required")
        entries = await run_in_threadpool(services.store.import_roster, (await upload.read()).decode("utf-8"))
    except (UnicodeDecodeError, RosterError) as exc:
        return _home(request, services, roster_error=str(exc))
    return _home(request, services, issued=[e for e in entries if e.token])


def _gradebook(services: Services, name: str) -> tuple[Assignment, list[grades.GradeRow]]:
    """The assignment's record and its gradebook rows; 404 unless it is registered and installed."""
    assignment = services.store.assignment(name)
    if assignment is None or name not in services.assignments:
        raise HTTPException(404)
    return assignment, grades.rows(services.store, assignment)


def _scores(gradebook: list[grades.GradeRow]) -> list[float]:
    """The histogram's scores: the graded students' ("no submission" is counted beside it, not as 0)."""
    return [g.counted.score for g in gradebook if g.counted]


@router.get("/assignments/{name}")
def assignment(name: str, request: Request, services: ServicesDep, _: InstructorViewer, failing: str = "",
               message: str = "") -> Response:
    row, gradebook = _gradebook(services, name)
    t = render.translate(request)
    common = class_view.common_failures(gradebook)
    chosen = next((c for c in common if c.label == failing), None)
    matrix = class_view.matrix(row.units, gradebook)
    return render.page(request, "instructor_assignment.html", name=name,
                       title=services.assignments[name].title_in(render.language(request)), m=matrix,
                       shown_rows=matrix.of({sid for sid, _, _ in chosen.students} if chosen else set()),
                       common=common, histogram=plots.histogram_text(_scores(gradebook), row.max_score, t),
                       ungraded=sum(1 for g in gradebook if not g.graded),
                       failing=chosen.label if chosen else "",
                       message=t("regrade_queued", count=message) if message.isdigit() else "")


@router.get("/assignments/{name}/histogram.svg")
def histogram(name: str, request: Request, services: ServicesDep, _: InstructorViewer) -> Response:
    row, gradebook = _gradebook(services, name)
    figure = plots.histogram(_scores(gradebook), row.max_score, render.translate(request))
    if figure is None:
        raise HTTPException(404)
    return render.svg_response(figure.svg)


@router.get("/assignments/{name}/gradebook.csv")
def gradebook(name: str, services: ServicesDep, _: InstructorViewer) -> Response:
    """The API's results CSV with the manual grade, its comment and the total including it on each row."""
    row, rows = _gradebook(services, name)
    return render.protect(Response(grades.to_csv(rows, row.units, with_manual=True),
                                   media_type="text/csv; charset=utf-8",
                                   headers={"Content-Disposition": f'attachment; filename="{name}-gradebook.csv"'}))


@router.post("/assignments/{name}/regrade")
def regrade_all(name: str, services: ServicesDep, _: InstructorViewer, __: Csrf) -> Response:
    _gradebook(services, name)
    ids = lifecycle.regrade_latest(services.store, services.publisher, name)
    return render.redirect(f"/instructor/assignments/{name}?message={len(ids)}")


def _staff_submission(services: Services, visit: BrowserSession, submission_id: str) -> tuple[Submission, Principal]:
    """The submission and who the session is in its course (the administrator, or its course's staff); 404 for
    anyone else, as for an id that does not exist."""
    found = services.store.submission(submission_id)
    who = visit.in_course(found.course) if found else None
    if who is None:
        raise HTTPException(404, "no such submission")
    return visible_submission(services.store, who, submission_id), who


@router.get("/submissions/{submission_id}")
def submission(submission_id: str, request: Request, services: ServicesDep, visit: StaffSession,
               message: str = "") -> Response:
    sub, _ = _staff_submission(services, visit, submission_id)
    lang = render.language(request)
    spec = installed_assignment(services, sub.assignment)
    recorded = services.store.result(sub.id)
    report = recorded.report if recorded else None
    student = services.store.student(sub.student)
    manual = grades.manual_mark(services.store.manual_grade(sub.id), sub.id, sub.received_at)
    t = render.translate(request)
    return render.page(request, "instructor_submission.html", submission=sub, report=report,
                       graded_by=status.graded_by(sub), title=spec.title_in(lang),
                       student_name=student.name if student else sub.student,
                       answers=written.answers(sub.notebook, spec.manual.headings), manual_points=spec.manual.points,
                       message=t(message) if message in ("saved",) else "",
                       **report_pane.context(services, sub.id, report, manual, lang, t))


@router.get("/submissions/{submission_id}/notebook")
def notebook(submission_id: str, request: Request, services: ServicesDep, visit: StaffSession) -> Response:
    """The notebook, sanitised, as its own document for the sandboxed iframe: no script, nothing external."""
    sub, _ = _staff_submission(services, visit, submission_id)
    recorded = services.store.result(sub.id)
    t = render.translate(request)
    marks = notebook_view.Marks(report_view.failed_cells(recorded.report) if recorded else {}, t("failed_cell"))
    words = notebook_view.Words(t("output_truncated"),
                                lambda shown, total: t("code_cells_shown", count=shown, total=total),
                                lambda reason: t("cell_not_shown", reason=reason), t("notebook_unreadable"))
    fragment = notebook_view.page(prepared.notebook(services.store, sub), marks, words)
    page, csp = notebook_view.document(fragment, render.language(request), NOTEBOOK_CSS)
    response = Response(page, media_type="text/html; charset=utf-8")
    render.protect(response, csp=csp)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


class ManualGrade(BaseModel):
    score: float
    comment: str = ""


@router.post("/submissions/{submission_id}/manual")
def manual(submission_id: str, services: ServicesDep, visit: StaffSession, __: Csrf,
           grade: Annotated[ManualGrade, Depends(edges.form_fields(ManualGrade))]) -> Response:
    score, comment = grade.score, grade.comment
    sub, who = _staff_submission(services, visit, submission_id)
    points = installed_assignment(services, sub.assignment).manual.points
    if not 0 <= score <= points:
        raise HTTPException(422, f"0 ≤ score ≤ {points:g}")
    services.store.set_manual_grade(sub.id, score, comment.strip()[:5000], who.actor)
    return render.redirect(f"/instructor/submissions/{sub.id}?message=saved")


@router.post("/submissions/{submission_id}/regrade")
def regrade(submission_id: str, services: ServicesDep, visit: StaffSession, __: Csrf) -> Response:
    sub, who = _staff_submission(services, visit, submission_id)
    lifecycle.regrade(services.store, services.publisher, sub.id, who.actor, sub.course)
    return render.redirect(f"/instructor/submissions/{sub.id}")
