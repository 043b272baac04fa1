"""Student pages: assignments with best and latest score, upload with live status, results, history.

A student sees only their own submissions: anything else answers 404, exactly as a missing id does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from grader import curves, feedback
from grader.intake import IntakeError, read_bytes
from service import lifecycle, views
from service.api.submissions import _check_rate
from service.api.upload import MULTIPART_OVERHEAD, notebook_upload, too_large
from service.auth import Principal
from service.models import Submission
from service.services import Deps, Services
from service.web import plots, records, render
from service.web import views as shown
from service.web.session import Csrf, StudentViewer, Viewer

router = APIRouter(route_class=render.PageRoute, include_in_schema=False)


def own_submission(deps: Services, who: Principal, submission_id: str) -> Submission:
    """The submission if this user may see it (its student, or the instructor); 404 otherwise."""
    submission = deps.store.submission(submission_id)
    if submission is None or not (who.is_instructor or submission.student == who.student):
        raise HTTPException(404)
    return submission


def title_of(deps: Services, name: str, lang: str) -> str:
    spec = deps.assignments.get(name)
    if spec is None:
        raise HTTPException(404)
    return spec.title_in(lang)


@router.get("/assignments")
def assignments(request: Request, deps: Deps, who: StudentViewer) -> Response:
    attempts = records.attempts(deps.store, student=who.student)
    lang = render.language(request)
    items = []
    for a in (a for a in deps.store.assignments() if a.name in deps.assignments):
        mine = [x for x in attempts if x.submission.assignment == a.name]
        scores = [x.result.score for x in mine if x.result]
        latest = next((x for x in mine if x.result), None)
        items.append({"name": a.name, "title": title_of(deps, a.name, lang), "max_score": a.max_score,
                      "best": max(scores) if scores else None, "latest": latest.result.score if latest else None,
                      "latest_status": mine[0].submission.status if mine else None})
    return render.page(request, "assignments.html", items=items)


def _assignment_page(request: Request, deps: Services, who: Principal, name: str, error: str | None = None,
                     status: int = 200) -> Response:
    title = title_of(deps, name, render.language(request))
    max_bytes = deps.settings.grader.max_notebook_bytes
    return render.page(request, "assignment.html", status=status, name=name, title=title, error=error,
                       attempts=records.attempts(deps.store, student=who.student, assignment=name),
                       max_bytes=max_bytes, max_mb=round(max_bytes / 2**20, 1))


@router.get("/assignments/{name}")
def assignment(name: str, request: Request, deps: Deps, who: StudentViewer) -> Response:
    return _assignment_page(request, deps, who, name)


def upload_size(request: Request, deps: Deps) -> None:
    """Refuse an oversize body by its Content-Length before anything reads it (also the CSRF check)."""
    length = request.headers.get("content-length", "")
    limit = deps.settings.grader.max_notebook_bytes
    if length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD:
        raise too_large(int(length), limit, render.language(request))


@router.post("/assignments/{name}/submit")
async def submit(name: str, request: Request, deps: Deps, who: StudentViewer,
                 _size: Annotated[None, Depends(upload_size)], _: Csrf) -> Response:
    """The same intake as the API; a bad file is answered in the page and nothing is stored."""
    wants_json = "application/json" in request.headers.get("accept", "")
    lang = render.language(request)
    title_of(deps, name, lang)
    try:
        await run_in_threadpool(_check_rate, deps, who.student)
        filename, blob = await notebook_upload(request, deps.settings.grader.max_notebook_bytes, lang)
        try:
            read_bytes(blob, deps.settings.grader.max_notebook_bytes)
        except IntakeError as err:
            raise HTTPException(422, feedback.render(err.code, err.params, lang)) from None
    except HTTPException as exc:
        message = _upload_error(exc, render.translate(request))
        if wants_json:
            return render.protect(JSONResponse({"error": message}, status_code=exc.status_code))
        return _assignment_page(request, deps, who, name, error=message, status=exc.status_code)
    submission = await run_in_threadpool(lifecycle.receive, deps.store, who.student, name, filename, blob)
    await run_in_threadpool(lifecycle.enqueue, deps.store, deps.publisher, submission.id)
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


@router.get("/submissions/{submission_id}")
def result(submission_id: str, request: Request, deps: Deps, who: Viewer) -> Response:
    submission = own_submission(deps, who, submission_id)
    lang = render.language(request)
    result = deps.store.result(submission.id)
    report = result.report if result else None
    return render.page(request, "result.html", submission=submission, title=title_of(deps, submission.assignment, lang),
                       finished=submission.status in lifecycle.FINISHED, report=report,
                       **report_context(request, deps, submission, report,
                                        records.manual_grade(deps.store, submission.id)))


def with_reference(deps: Services, report: dict) -> dict:
    """The report with the reference network's training run beside the student's (trained here on
    the same batches from the report's seed on first view; the grader does not spend time on it)."""
    training = report.get("training")
    spec = deps.assignments.get(report.get("assignment", ""))
    if not training or training.get("reference") or spec is None:
        return report
    reference = curves.reference_run(spec, int(report["seed"]), deps.settings.grader)
    return {**report, "training": {**training, "reference": reference}}


def report_context(request: Request, deps: Services, submission: Submission, report: dict | None, manual) -> dict:
    """What _report.html needs: rows per unit, plot links with their text alternatives, the manual grade."""
    if report is None:
        return {"rows": [], "notes": [], "plots": [], "manual": manual}
    report = with_reference(deps, report)
    t = render.translate(request)
    figures = []
    for kind, width, title in (("gradient", 520, "plot_gradient_title"), ("training", 750, "plot_training_title")):
        plot = PLOTS[kind](report, t)
        if plot is not None:
            figures.append({"kind": kind, "url": f"/submissions/{submission.id}/plots/{kind}.svg", "alt": plot.alt,
                            "details": plot.details, "width": width, "title": t(title)})
    lang = render.language(request)
    return {"rows": shown.unit_rows(report, lang), "notes": shown.notes(report, lang), "plots": figures,
            "manual": manual}


PLOTS = {"gradient": plots.gradient_check, "training": plots.training}


@router.get("/submissions/{submission_id}/status")
def status(submission_id: str, deps: Deps, who: Viewer) -> Response:
    """The API's status object (without the report), for the page's polling."""
    submission = own_submission(deps, who, submission_id)
    return render.protect(JSONResponse(views.submission_status(deps.store, submission, with_report=False)))


@router.get("/submissions/{submission_id}/plots/{kind}.svg")
def plot(submission_id: str, kind: str, request: Request, deps: Deps, who: Viewer) -> Response:
    submission = own_submission(deps, who, submission_id)
    result = deps.store.result(submission.id)
    figure = PLOTS[kind](with_reference(deps, result.report), render.translate(request)) \
        if result and kind in PLOTS else None
    if figure is None:
        raise HTTPException(404)
    return svg_response(figure.svg)


def svg_response(svg: str) -> Response:
    """An SVG image of our own making; it may style itself but never run script."""
    return render.protect(Response(svg, media_type="image/svg+xml"),
                          csp="default-src 'none'; style-src 'unsafe-inline'")

