"""Who a verified launch signs in, in which course, and where it lands. The launch's context is a course here
(made at its first instructor launch; a learner's launch for a context the tool does not know is refused,
and creates nothing); its user is that course's student (Learner) or staff (Instructor -> instructor,
TeachingAssistant -> ta) by the roles claim, named as the platform names them; its resource link opens an
offering (the one our deep link put in its custom parameters, remembered at its first launch, with the AGS
line item the platform names for it)."""

from __future__ import annotations

from dataclasses import dataclass

from service.lti.launch import DEEP_LINKING_REQUEST, Launch, Refused
from service.models import INSTRUCTOR_ROLE, TA_ROLE
from service.principals import STAFF, STUDENT, Principal
from service.store import Context, Store
from service.web import links

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTRUCTOR_SUBROLES = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#"   # TeachingAssistant, ...
INSTRUCTORS = {MEMBERSHIP + "Instructor", MEMBERSHIP + "Administrator", MEMBERSHIP + "ContentDeveloper", "Instructor"}
ASSISTANTS = {INSTRUCTOR_SUBROLES + "TeachingAssistant", MEMBERSHIP + "TeachingAssistant", "TeachingAssistant"}
LEARNERS = {MEMBERSHIP + "Learner", "Learner"}
OFFERING_PARAMETER = "offering"     # the custom parameter our deep link sets: the assignment's name


def staff_role(roles: tuple[str, ...] | list[str]) -> str | None:
    """instructor, ta or None (a learner, or nobody we know) by the LTI roles; a TA's sub-role wins over the
    Instructor role platforms send along with it."""
    if any(r in ASSISTANTS for r in roles):
        return TA_ROLE
    if any(r in INSTRUCTORS or r.startswith(INSTRUCTOR_SUBROLES) for r in roles):
        return INSTRUCTOR_ROLE
    return None


def is_learner(roles: tuple[str, ...] | list[str]) -> bool:
    return any(r in LEARNERS for r in roles)


@dataclass(frozen=True)
class Arrival:
    """A launch as the tool takes it: who is signed in, in which course, which offering the link opens."""

    principal: Principal
    context: Context
    assignment: str | None

    @property
    def course(self) -> str:
        return self.context.course

    def landing(self) -> str:
        """The page the launch lands on: for staff the offering's staff page (else the course's LTI page:
        offerings, roster sync, grades sent); for a student their page of the course's offering (else their
        courses' page)."""
        if self.principal.role == STAFF:
            return f"/staff/{self.course}/offerings/{self.assignment}" if self.assignment else \
                f"/lti/courses/{self.course}"
        return links.offering_page(self.course, self.assignment) if self.assignment else "/courses"


def arrive(store: Store, launch: Launch, platform_id: int) -> Arrival:
    """The launch's user signed in to the launch's course; Refused (nothing created) for a user with neither
    a learner's nor a staff role, a launch naming no context, or a context unknown here unless an
    instructor opens it, and a deep linking request from anyone but staff."""
    role = staff_role(launch.roles)
    if role is None and not is_learner(launch.roles):
        raise Refused("lti_unknown_role")
    if launch.context_id is None:
        raise Refused("lti_no_context")
    if launch.message_type == DEEP_LINKING_REQUEST and role is None:
        raise Refused("lti_deep_link_staff_only")
    if role != INSTRUCTOR_ROLE and store.lti_context(launch.issuer, launch.context_id) is None:
        raise Refused("lti_unknown_course")
    context = store.open_context(launch.issuer, launch.context_id, platform_id, launch.context_title,
                                 launch.memberships_url, launch.lineitems_url)
    if role is not None:
        principal = Principal(STAFF, course=context.course, staff=store.lti_staff(
            launch.issuer, launch.subject, launch.name, context.course, role), staff_role=role)
    else:
        principal = Principal(STUDENT, store.lti_student(launch.issuer, launch.subject, launch.name, launch.email,
                                                         context.course))
    return Arrival(principal, context, _offering(store, launch, context.course))


def _offering(store: Store, launch: Launch, course: str) -> str | None:
    """The assignment the resource link opens: as remembered, or as our deep link's custom parameter names
    one offered in the course (remembered from now on); None when the link opens none yet."""
    if launch.resource_link_id is None:
        return None
    link = store.resource_link(launch.issuer, launch.resource_link_id)
    named = launch.custom.get(OFFERING_PARAMETER)
    if link is not None and link.course == course:
        named = link.assignment
    elif named and store.offering(course, named) is not None:
        store.link_resource(launch.issuer, launch.resource_link_id, course, named)
    else:
        return None
    if launch.lineitem_url and (link is None or link.lineitem_url != launch.lineitem_url):
        store.set_lineitem(launch.issuer, launch.resource_link_id, launch.lineitem_url)   # the platform's own
    return named
