"""Submitting a notebook and following it: POST a notebook, GET its status (and report), list them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from grader.languages import from_accept_language
from service import edges, uploads
from service.access import visible_submission
from service.auth import Caller
from service.models import Submission
from service.services import ServicesDep
from service.status import QueueView, submission_status

router = APIRouter(prefix="/api", tags=["submissions"])


def accepted(request: Request, services: ServicesDep, submission: Submission) -> dict:
    """The 202's body: the id, the status (`queued`, or `received` while it waits its turn, with `turn`)."""
    waiting = submission_status(services.store, submission, with_report=False)
    url = str(request.url_for("submission_status", submission_id=submission.id))
    return {"id": submission.id, "status": submission.status, "queue_position": waiting["queue_position"],
            "turn": waiting["turn"], "status_url": url}


@router.post("/assignments/{assignment}/submissions", status_code=202)
@edges.upload
async def submit(assignment: str, request: Request, response: Response, services: ServicesDep, who: Caller) -> dict:
    """Upload one notebook (multipart field `file`): 202 once its bytes are stored and it is queued."""
    if not who.is_student:
        raise HTTPException(403, "submissions are made with a student's token")
    if assignment not in services.assignments or \
            await run_in_threadpool(services.store.assignment, assignment) is None:
        raise HTTPException(404, f"no assignment {assignment!r}")
    lang = from_accept_language(request.headers.get("accept-language"))
    submission = await uploads.accept(services, request, who.student, assignment, lang)
    response.headers["Location"] = str(request.url_for("submission_status", submission_id=submission.id))
    return accepted(request, services, submission)


@router.get("/submissions/{submission_id}", name="submission_status")
def status(submission_id: str, services: ServicesDep, who: Caller) -> dict:
    """Status, the time of each phase, queue position and estimated wait, and the report once done."""
    submission = visible_submission(services.store, who, submission_id)
    return submission_status(services.store, submission, staff=who.sees_course(submission.course))


@router.get("/submissions")
def listing(services: ServicesDep, who: Caller, assignment: str | None = None, student: str | None = None) -> dict:
    """A student's own submissions; the administrator's view of all (filter by `student`). Newest first."""
    if not who.is_instructor and not who.is_student:
        raise HTTPException(403, "course staff list submissions by course: /api/courses/{course}/...")
    if not who.is_instructor:
        student = who.student
    rows = services.store.submissions(assignment=assignment, student=student)
    queue = QueueView(services.store, listing=True)
    return {"submissions": [submission_status(services.store, s, with_report=False, staff=who.is_instructor,
                                              queue=queue) for s in rows]}
