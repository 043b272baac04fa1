"""Instructor endpoints: the roster, results per assignment (JSON and CSV), regrades, the scoring policy."""

from __future__ import annotations

import csv
import io
from typing import Literal

from fastapi import APIRouter, Body, HTTPException, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from grader.reports import SubmissionReport, UnitReport, to_csv
from service import lifecycle
from service.api.submissions import accepted, visible_submission
from service.auth import Instructor
from service.models import Assignment
from service.services import Deps, Services
from service.store import RosterError, Standing

router = APIRouter(prefix="/api", tags=["instructor"])


@router.post("/roster", status_code=201)
async def roster(request: Request, deps: Deps, _: Instructor) -> dict:
    """CSV `id,name,email` (the body, or multipart field `file`): new students get a token, shown only now."""
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "the multipart field 'file' with the roster CSV is required")
        raw = await upload.read()
    else:
        raw = await request.body()
    try:
        entries = await run_in_threadpool(deps.store.import_roster, raw.decode("utf-8"))
    except (UnicodeDecodeError, RosterError) as exc:
        raise HTTPException(400, f"bad roster: {exc}") from None
    return {"students": [{"id": e.id, "name": e.name, "email": e.email, **({"token": e.token} if e.token else {})}
                         for e in entries]}


def known_assignment(deps: Services, name: str) -> Assignment:
    assignment = deps.store.assignment(name)
    if assignment is None:
        raise HTTPException(404, f"no assignment {name!r}")
    return assignment


@router.get("/assignments")
def assignments(deps: Deps, _: Instructor) -> dict:
    return {"assignments": [{"name": a.name, "title": a.title, "max_score": a.max_score, "units": a.units,
                             "policy": a.policy} for a in deps.store.assignments()]}


@router.put("/assignments/{assignment}/policy")
def set_policy(assignment: str, deps: Deps, _: Instructor,
               policy: Literal["latest", "best"] = Body(embed=True)) -> dict:
    """Which submission counts in the results: each student's latest (default) or best."""
    known_assignment(deps, assignment)
    deps.store.set_policy(assignment, policy)
    return {"assignment": assignment, "policy": policy}


class StandingRow(BaseModel):
    student: str
    name: str
    submission: str
    received: str
    score: float
    max_score: float
    units: dict[str, float]


@router.get("/assignments/{assignment}/results")
def results(assignment: str, deps: Deps, _: Instructor) -> dict:
    """One row per student with a graded submission, chosen by the assignment's policy."""
    row = known_assignment(deps, assignment)
    rows = [StandingRow(student=s.student.id, name=s.student.name, submission=s.submission.id,
                        received=s.submission.received_at.isoformat(), score=s.result.score,
                        max_score=s.result.max_score, units=s.result.unit_scores)
            for s in deps.store.standings(row)]
    return {"assignment": assignment, "policy": row.policy, "units": row.units, "results": rows}


@router.get("/assignments/{assignment}/results.csv", response_class=Response)
def results_csv(assignment: str, deps: Deps, _: Instructor) -> Response:
    """The CLI's CSV columns (`grader grade --format csv`), preceded by student_id and student_name."""
    row = known_assignment(deps, assignment)
    standings = deps.store.standings(row)
    cli = list(csv.reader(io.StringIO(to_csv([_as_report(s) for s in standings], row.units))))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student_id", "student_name", *cli[0]])
    for standing, line in zip(standings, cli[1:], strict=True):
        writer.writerow([standing.student.id, standing.student.name, *line])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{assignment}-results.csv"'})


def _as_report(standing: Standing) -> SubmissionReport:
    report = standing.result.report
    units = {name: UnitReport(u["score"], u["max_score"], ()) for name, u in report["units"].items()}
    return SubmissionReport(submission=report["submission"], assignment=report["assignment"], score=report["score"],
                            max_score=report["max_score"], seed=report["seed"], language=report["language"],
                            error=report["error"], units=units)


@router.post("/submissions/{submission_id}/regrade", status_code=202)
def regrade(submission_id: str, request: Request, deps: Deps, who: Instructor) -> dict:
    """Grade a finished submission again (same seed); its old result is replaced."""
    submission = visible_submission(deps, who, submission_id)
    if not lifecycle.regrade(deps.store, deps.publisher, submission.id):
        raise HTTPException(409, f"submission is {submission.status}; only done or failed ones are regraded")
    submission.status = lifecycle.QUEUED
    return accepted(request, submission)


@router.post("/assignments/{assignment}/regrade", status_code=202)
def regrade_all(assignment: str, deps: Deps, _: Instructor) -> dict:
    """Regrade every student's latest submission that is finished (the others are on their way anyway)."""
    known_assignment(deps, assignment)
    ids = [i for i in deps.store.latest_submissions(assignment) if lifecycle.regrade(deps.store, deps.publisher, i)]
    return {"assignment": assignment, "regraded": ids}
