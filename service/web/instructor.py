"""Instructor pages: the class matrix, histogram and common failures, a student's report beside their
notebook, manual grades for written parts, regrades, the gradebook CSV, the roster, the service's health.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service import lifecycle
from service.api import course as course_api
from service.services import Deps, Services
from service.store import RosterError
from service.web import notebook_view, plots, records, render, written
from service.web import views as shown
from service.web.session import Csrf, InstructorViewer
from service.web.student import own_submission, report_context, svg_response, title_of

router = APIRouter(prefix="/instructor", route_class=render.PageRoute, include_in_schema=False)
NOTEBOOK_CSS = (render.HERE / "static" / "notebook.css").read_text(encoding="utf-8")


def _home(request: Request, deps: Services, **extra) -> Response:
    live = {w.name for w in deps.store.live_workers()}
    return render.page(
        request, "instructor_home.html", assignments=[{"name": a.name, "title": title_of(deps, a.name,
                                                       render.language(request))} for a in deps.store.assignments()],
        in_progress=records.attempts(deps.store, statuses=(lifecycle.RECEIVED, lifecycle.QUEUED, lifecycle.RUNNING)),
        failures=records.attempts(deps.store, statuses=(lifecycle.FAILED,)),
        workers=records.workers(deps.store), live=live, **extra)


@router.get("")
def home(request: Request, deps: Deps, _: InstructorViewer) -> Response:
    return _home(request, deps)


@router.post("/roster")
async def roster(request: Request, deps: Deps, _: InstructorViewer, __: Csrf) -> Response:
    """Import the roster CSV; the new students' tokens are shown on this answer only."""
    upload = (await request.form()).get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise RosterError("a CSV file is required")
        entries = await run_in_threadpool(deps.store.import_roster, (await upload.read()).decode("utf-8"))
    except (UnicodeDecodeError, RosterError) as exc:
        return _home(request, deps, roster_error=str(exc))
    return _home(request, deps, issued=[e for e in entries if e.token])


def _standings(deps: Services, name: str):
    assignment = deps.store.assignment(name)
    if assignment is None or name not in deps.assignments:
        raise HTTPException(404)
    standings = deps.store.standings(assignment)
    manual = {k: m.score for k, m in records.manual_grades(deps.store, [s.submission.id for s in standings]).items()}
    return assignment, standings, manual


@router.get("/assignments/{name}")
def assignment(name: str, request: Request, deps: Deps, _: InstructorViewer, failing: str = "",
               message: str = "") -> Response:
    row, standings, manual = _standings(deps, name)
    t = render.translate(request)
    common = shown.common_failures(standings)
    chosen = next((c for c in common if c.label == failing), None)
    return render.page(request, "instructor_assignment.html", name=name,
                       title=title_of(deps, name, render.language(request)),
                       m=shown.matrix(row.units, standings, manual), common=common,
                       histogram=plots.histogram([s.result.score for s in standings], row.max_score, t),
                       failing=chosen.label if chosen else "",
                       failing_students={sid for sid, _, _ in chosen.students} if chosen else set(),
                       message=t("regrade_queued", count=message) if message.isdigit() else "")


@router.get("/assignments/{name}/histogram.svg")
def histogram(name: str, request: Request, deps: Deps, _: InstructorViewer) -> Response:
    row, standings, _manual = _standings(deps, name)
    figure = plots.histogram([s.result.score for s in standings], row.max_score, render.translate(request))
    if figure is None:
        raise HTTPException(404)
    return svg_response(figure.svg)


@router.get("/assignments/{name}/gradebook.csv")
def gradebook(name: str, deps: Deps, who: InstructorViewer) -> Response:
    """The API's results CSV with the manual grade and the total including it appended to each row."""
    row, standings, _manual = _standings(deps, name)
    api_csv = course_api.results_csv(name, deps, who).body.decode("utf-8")
    lines = list(csv.reader(io.StringIO(api_csv)))
    grades = records.manual_grades(deps.store, [s.submission.id for s in standings])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*lines[0], "manual_score", "manual_comment", "total"])
    for standing, line in zip(standings, lines[1:], strict=True):
        grade = grades.get(standing.submission.id)
        total = standing.result.score + (grade.score if grade else 0.0)
        writer.writerow([*line, f"{grade.score:g}" if grade else "", grade.comment if grade else "", f"{total:g}"])
    return render.protect(Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}-gradebook.csv"'}))


@router.post("/assignments/{name}/regrade")
def regrade_all(name: str, deps: Deps, _: InstructorViewer, __: Csrf) -> Response:
    _standings(deps, name)
    ids = [i for i in deps.store.latest_submissions(name) if lifecycle.regrade(deps.store, deps.publisher, i)]
    return render.redirect(f"/instructor/assignments/{name}?message={len(ids)}")


@router.get("/submissions/{submission_id}")
def submission(submission_id: str, request: Request, deps: Deps, who: InstructorViewer, message: str = "") -> Response:
    sub = own_submission(deps, who, submission_id)
    spec = deps.assignments.get(sub.assignment)
    result = deps.store.result(sub.id)
    report = result.report if result else None
    student = deps.store.student(sub.student)
    manual_spec = written.spec_for(spec.directory) if spec else written.WrittenSpec(written.DEFAULT_POINTS, ())
    t = render.translate(request)
    return render.page(request, "instructor_submission.html", submission=sub, report=report,
                       title=title_of(deps, sub.assignment, render.language(request)),
                       student_name=student.name if student else sub.student,
                       answers=written.answers(sub.notebook, manual_spec.headings), manual_points=manual_spec.points,
                       message=t(message) if message in ("saved",) else "",
                       **report_context(request, deps, sub, report, records.manual_grade(deps.store, sub.id)))


@router.get("/submissions/{submission_id}/notebook")
def notebook(submission_id: str, request: Request, deps: Deps, who: InstructorViewer) -> Response:
    """The notebook, sanitised, as its own document for the sandboxed iframe: no script, nothing external."""
    sub = own_submission(deps, who, submission_id)
    result = deps.store.result(sub.id)
    t = render.translate(request)
    marks = notebook_view.Marks(shown.failed_cells(result.report) if result else {}, t("failed_cell"),
                                t("output_truncated"))
    page, csp = notebook_view.document(notebook_view.render(sub.notebook, marks), render.language(request),
                                       NOTEBOOK_CSS, t("grading_error"))
    response = Response(page, media_type="text/html; charset=utf-8")
    render.protect(response, csp=csp)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@router.post("/submissions/{submission_id}/manual")
def manual(submission_id: str, deps: Deps, who: InstructorViewer, __: Csrf, score: Annotated[float, Form()],
           comment: Annotated[str, Form()] = "") -> Response:
    sub = own_submission(deps, who, submission_id)
    spec = deps.assignments.get(sub.assignment)
    points = written.spec_for(spec.directory).points if spec else written.DEFAULT_POINTS
    if not 0 <= score <= points:
        raise HTTPException(422, f"0 ≤ score ≤ {points:g}")
    records.set_manual_grade(deps.store, sub.id, score, comment.strip()[:5000])
    return render.redirect(f"/instructor/submissions/{sub.id}?message=saved")


@router.post("/submissions/{submission_id}/regrade")
def regrade(submission_id: str, deps: Deps, who: InstructorViewer, __: Csrf) -> Response:
    sub = own_submission(deps, who, submission_id)
    lifecycle.regrade(deps.store, deps.publisher, sub.id)
    return render.redirect(f"/instructor/submissions/{sub.id}")
