"""Instructor endpoints: the roster, results per assignment (JSON and CSV), regrades, the scoring policy."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service import edges, grades, lifecycle
from service.access import visible_submission
from service.api.submissions import accepted
from service.auth import Instructor
from service.models import DEFAULT_COURSE, Assignment
from service.services import Services, ServicesDep
from service.store import RosterError

router = APIRouter(prefix="/api", tags=["instructor"])


@router.post("/roster", status_code=201)
@edges.upload
async def roster(request: Request, services: ServicesDep, who: Instructor) -> dict:
    """CSV `id,name,email` (the body, or multipart field `file`) enrolled in course `default`: new students get
    a token, shown only now."""
    return await import_roster(request, services, DEFAULT_COURSE, who.actor)


async def import_roster(request: Request, services: Services, course: str, actor: str) -> dict:
    """The roster CSV of the request enrolled in the course (audited); the students, new tokens shown once."""
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        upload = (await edges.form(request)).get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "the multipart field 'file' with the roster CSV is required")
        raw = await upload.read()
    else:
        raw = await request.body()
    try:
        entries = await run_in_threadpool(services.store.import_roster, raw.decode("utf-8"), course, actor)
    except (UnicodeDecodeError, RosterError) as exc:
        raise HTTPException(400, f"bad roster: {exc}") from None
    return {"students": [{"id": e.id, "name": e.name, "email": e.email, **({"token": e.token} if e.token else {})}
                         for e in entries]}


def known_assignment(services: Services, name: str) -> Assignment:
    assignment = services.store.assignment(name)
    if assignment is None:
        raise HTTPException(404, f"no assignment {name!r}")
    return assignment


@router.get("/assignments")
def assignments(services: ServicesDep, _: Instructor) -> dict:
    return {"assignments": [{"name": a.name, "title": a.title, "max_score": a.max_score, "units": a.units,
                             "policy": a.policy} for a in services.store.assignments()]}


class PolicyChoice(BaseModel):
    policy: Literal["latest", "best"]


@router.put("/assignments/{assignment}/policy", openapi_extra=edges.openapi_body(PolicyChoice))
def set_policy(assignment: str, services: ServicesDep, who: Instructor,
               choice: Annotated[PolicyChoice, Depends(edges.json_body(PolicyChoice))]) -> dict:
    """Which submission counts in the results: each student's latest (default) or best."""
    known_assignment(services, assignment)
    services.store.set_policy(assignment, choice.policy, who.actor)
    return {"assignment": assignment, "policy": choice.policy}


class StandingRow(BaseModel):
    student: str
    name: str
    status: str                        # graded | no submission | failed
    submission: str | None = None
    received: str | None = None
    score: float | None = None
    max_score: float | None = None
    units: dict[str, float] | None = None


@router.get("/assignments/{assignment}/results")
def results(assignment: str, services: ServicesDep, _: Instructor) -> dict:
    """One row per student on the roster: the graded submission chosen by the assignment's policy, or the
    status saying why there is none (`no submission`, `failed`) with null scores."""
    row = known_assignment(services, assignment)
    rows = [StandingRow(student=g.student, name=g.name, status=g.status,
                        **({"submission": c.submission, "received": c.received.isoformat(), "score": c.score,
                            "max_score": c.max_score, "units": c.unit_scores} if (c := g.counted) else {}))
            for g in grades.rows(services.store, row)]
    return {"assignment": assignment, "policy": row.policy, "units": row.units, "results": rows}


@router.get("/assignments/{assignment}/results.csv", response_class=Response)
def results_csv(assignment: str, services: ServicesDep, _: Instructor) -> Response:
    """The CLI's CSV columns (`grader grade --format csv`), preceded by student_id and student_name."""
    row = known_assignment(services, assignment)
    return Response(grades.to_csv(grades.rows(services.store, row), row.units),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{assignment}-results.csv"'})


@router.post("/submissions/{submission_id}/regrade", status_code=202)
def regrade(submission_id: str, request: Request, services: ServicesDep, who: Instructor) -> dict:
    """Grade a finished submission again (same seed); its result stays until the new one replaces it."""
    submission = visible_submission(services.store, who, submission_id)
    if not lifecycle.regrade(services.store, services.publisher, submission.id, who.actor, submission.course):
        raise HTTPException(409, f"submission is {submission.status}; only done or failed ones are regraded")
    return accepted(request, services, services.store.submission(submission.id))


@router.post("/assignments/{assignment}/regrade", status_code=202)
def regrade_all(assignment: str, services: ServicesDep, who: Instructor) -> dict:
    """Regrade every student's latest submission that is finished (the others are on their way anyway)."""
    known_assignment(services, assignment)
    return {"assignment": assignment, "regraded": lifecycle.regrade_latest(services.store, services.publisher,
                                                                           assignment, who.actor)}
