"""Submitting a notebook and following it: POST a notebook, GET its status (and report), list them."""

from __future__ import annotations

import math
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from grader import feedback
from grader.intake import IntakeError, read_bytes
from grader.languages import from_accept_language
from service import lifecycle, views
from service.api.upload import notebook_upload
from service.auth import Caller, Principal
from service.models import Submission, now
from service.services import Deps, Services

router = APIRouter(prefix="/api", tags=["submissions"])


def visible_submission(deps: Services, who: Principal, submission_id: str) -> Submission:
    """The submission if the caller may see it; 404 otherwise (ids are not probed: the same answer either way)."""
    submission = deps.store.submission(submission_id)
    if submission is None or not (who.is_instructor or submission.student == who.student):
        raise HTTPException(404, "no such submission")
    return submission


def accepted(request: Request, submission: Submission) -> dict:
    return {"id": submission.id, "status": submission.status,
            "status_url": str(request.url_for("submission_status", submission_id=submission.id))}


@router.post("/assignments/{assignment}/submissions", status_code=202)
async def submit(assignment: str, request: Request, response: Response, deps: Deps, who: Caller) -> dict:
    """Upload one notebook (multipart field `file`): 202 once its bytes are stored and it is queued."""
    if who.is_instructor:
        raise HTTPException(403, "submissions are made with a student's token")
    if assignment not in deps.assignments or await run_in_threadpool(deps.store.assignment, assignment) is None:
        raise HTTPException(404, f"no assignment {assignment!r}")
    await run_in_threadpool(_check_rate, deps, who.student)
    lang = from_accept_language(request.headers.get("accept-language"))
    max_bytes = deps.settings.grader.max_notebook_bytes
    filename, blob = await notebook_upload(request, max_bytes, lang)
    try:
        read_bytes(blob, max_bytes)
    except IntakeError as err:
        raise HTTPException(422, feedback.render(err.code, err.params, lang)) from None
    submission = await run_in_threadpool(lifecycle.receive, deps.store, who.student, assignment, filename, blob)
    await run_in_threadpool(lifecycle.enqueue, deps.store, deps.publisher, submission.id)
    submission.status = lifecycle.QUEUED
    response.headers["Location"] = str(request.url_for("submission_status", submission_id=submission.id))
    return accepted(request, submission)


def _check_rate(deps: Services, student: str) -> None:
    """At most `submissions_per_minute` per student; 429 with the seconds until the next one is allowed."""
    limit = deps.settings.submissions_per_minute
    recent = deps.store.received_since(student, now() - timedelta(minutes=1))
    if len(recent) >= limit:
        wait = 60 - (now() - recent[-limit]).total_seconds()
        raise HTTPException(429, f"at most {limit} submissions a minute; try again shortly",
                            headers={"Retry-After": str(max(1, math.ceil(wait)))})


@router.get("/submissions/{submission_id}", name="submission_status")
def status(submission_id: str, deps: Deps, who: Caller) -> dict:
    """Status, the time of each phase, queue position and estimated wait, and the report once done."""
    return views.submission_status(deps.store, visible_submission(deps, who, submission_id))


@router.get("/submissions")
def listing(deps: Deps, who: Caller, assignment: str | None = None, student: str | None = None) -> dict:
    """A student's own submissions; an instructor's view of all (filter by `student`). Newest first."""
    if not who.is_instructor:
        student = who.student
    rows = deps.store.submissions(assignment=assignment, student=student)
    return {"submissions": [views.submission_status(deps.store, s, with_report=False) for s in rows]}
