"""Who a verified launch signs in. Today every launch is for the default course: a learner is a roster entry
enrolled there (made at their first launch, by issuer and sub), staff sign in as the instructor (the pages
know no course staff yet). Mapping an LTI context to a course of its own, a resource link to an offering and
staff roles to that course's staff rewires this one function."""

from __future__ import annotations

from service.auth import INSTRUCTOR, STUDENT, Principal
from service.lti.launch import Launch, Refused
from service.models import DEFAULT_COURSE
from service.store import Store

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTRUCTOR_SUBROLES = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#"   # TeachingAssistant, ...
STAFF = {MEMBERSHIP + "Instructor", MEMBERSHIP + "Administrator", MEMBERSHIP + "ContentDeveloper", "Instructor"}
LEARNERS = {MEMBERSHIP + "Learner", "Learner"}


def is_staff(roles: tuple[str, ...]) -> bool:
    return any(r in STAFF or r.startswith(INSTRUCTOR_SUBROLES) for r in roles)


def principal_for(store: Store, launch: Launch) -> Principal:
    """The principal the launch's user is here; a user with neither a learner's nor a staff role is refused."""
    if is_staff(launch.roles):
        return Principal(INSTRUCTOR)
    if any(r in LEARNERS for r in launch.roles):
        return Principal(STUDENT, store.lti_student(launch.issuer, launch.subject, launch.name, launch.email,
                                                    DEFAULT_COURSE))
    raise Refused("the launch's roles are neither a learner's nor an instructor's")
