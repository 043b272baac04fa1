"""Who may see what: one answer for the API and the pages alike."""

from __future__ import annotations

from fastapi import HTTPException

from grader import spec
from service.auth import Principal
from service.models import Submission
from service.services import Services
from service.store import Store


def visible_submission(store: Store, who: Principal, submission_id: str) -> Submission:
    """The submission if the caller may see it (its student, or the instructor); 404 otherwise, the same
    answer as for an id that does not exist, so ids cannot be probed."""
    submission = store.submission(submission_id)
    if submission is None or not (who.is_instructor or submission.student == who.student):
        raise HTTPException(404, "no such submission")
    return submission


def installed_assignment(services: Services, name: str) -> spec.Assignment:
    """The spec of an assignment this service grades; 404 for any other name."""
    assignment = services.assignments.get(name)
    if assignment is None:
        raise HTTPException(404, f"no assignment {name!r}")
    return assignment
