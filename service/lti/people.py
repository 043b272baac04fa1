"""Who a verified launch signs in. Today's service has one implicit course: a learner is a roster entry (made
at their first launch, by issuer and sub), staff are its instructor. The course model rewires this one
function (context -> course, resource link -> offering, roles -> that course's staff)."""

from __future__ import annotations

from service.auth import INSTRUCTOR, STUDENT, Principal
from service.lti.launch import Launch, Refused
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
        return Principal(STUDENT, store.lti_student(launch.issuer, launch.subject, launch.name, launch.email))
    raise Refused("the launch's roles are neither a learner's nor an instructor's")
