"""Who may see what and do what: one answer for the API and the pages alike.

In a course: the administrator (GRADER_INSTRUCTOR_TOKEN) may do everything; the course's instructor everything
in it but create it; a TA views, gives manual grades and regrades one submission (not dates, policy, roster,
staff or extensions); a student enrolled in it sees their own. `CourseRole` is the one dependency that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException

from grader import spec
from service.auth import caller
from service.models import INSTRUCTOR_ROLE, TA_ROLE, Course, Submission
from service.principals import STAFF, Principal
from service.services import Services, ServicesDep
from service.store import Store

VIEW, GRADE, MANAGE, STUDY, MEMBER = "view", "grade", "manage", "study", "member"   # what a course route needs
ABILITIES = {INSTRUCTOR_ROLE: {VIEW, GRADE, MANAGE}, TA_ROLE: {VIEW, GRADE}}


def visible_submission(store: Store, who: Principal, submission_id: str) -> Submission:
    """The submission if the caller may see it (its student, the administrator, or its course's staff); 404
    otherwise, the same answer as for an id that does not exist, so ids cannot be probed."""
    submission = store.submission(submission_id)
    if submission is None or not (who.sees_course(submission.course) or
                                  (who.is_student and submission.student == who.student)):
        raise HTTPException(404, "no such submission")
    return submission


@dataclass(frozen=True)
class InCourse:
    """A caller allowed what a course route needs, and the course."""

    who: Principal
    course: Course


def may(who: Principal, course: str, need: str) -> bool:
    """Whether the caller may do `need` in the course (its enrollment is the route's to check for STUDY)."""
    if need == MEMBER:
        return True            # anyone the course is theirs to see (CourseRole checked that)
    if who.is_instructor:
        return need != STUDY
    if who.role == STAFF:
        return who.course == course and need in ABILITIES.get(who.staff_role or "", set())
    return need == STUDY and who.is_student


class CourseRole:
    """The dependency of every course route: the course (404 if unknown, or not the caller's), and 403 when the
    caller is there but may not do this (a TA on dates or the roster; staff uploading)."""

    def __init__(self, need: str) -> None:
        self.need = need

    def __call__(self, course: str, services: ServicesDep, who: Annotated[Principal, Depends(caller)]) -> InCourse:
        return in_course(services.store, who, course, self.need)


def in_course(store: Store, who: Principal | None, course: str, need: str) -> InCourse:
    """The course if it is the caller's (404 otherwise, as for one that does not exist), and 403 when the caller
    is there but may not do `need`: the API's `CourseRole` and the staff pages ask the same."""
    row = store.course(course)
    mine = row is not None and who is not None and (
        who.is_instructor or who.course == course or (who.is_student and store.enrolled(course, who.student)))
    if not mine:
        raise HTTPException(404, f"no course {course!r}")
    if not may(who, course, need):
        raise HTTPException(403, f"a {who.staff_role or who.role} may not do this in course {course!r}")
    return InCourse(who, row)


Viewer = Annotated[InCourse, Depends(CourseRole(VIEW))]
Grader = Annotated[InCourse, Depends(CourseRole(GRADE))]
Manager = Annotated[InCourse, Depends(CourseRole(MANAGE))]
Learner = Annotated[InCourse, Depends(CourseRole(STUDY))]
Member = Annotated[InCourse, Depends(CourseRole(MEMBER))]


def installed_assignment(services: Services, name: str) -> spec.Assignment:
    """The spec of an assignment this service grades; 404 for any other name."""
    assignment = services.assignments.get(name)
    if assignment is None:
        raise HTTPException(404, f"no assignment {name!r}")
    return assignment
