"""A course's roster as a platform's roster service (NRPS) lists it: listed learners enrolled (made at their
first listing, as at their first launch), listed staff on the course's staff, and the platform's students no
longer listed as active marked as having left (kept, with their work), back when listed again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.clocks import now
from service.models import Enrollment, LtiMembership, LtiUser


@dataclass(frozen=True)
class Member:
    """One entry of a membership container, as the roster sync reads it."""

    subject: str            # user_id: the sub of their launches
    name: str
    email: str
    staff_role: str | None  # instructor | ta | None (a learner)
    active: bool


@dataclass(frozen=True)
class Synced:
    joined: int             # students listed active now and not before (new, or back)
    left: int               # students marked as having left by this sync
    active: int


class LtiRosterRecords:
    sessions: sessionmaker[Session]

    def sync_lti_roster(self, issuer: str, course: str, members: list[Member]) -> Synced:
        """The course's roster as the listing says (see the module's docstring); what changed."""
        learners = [m for m in members if m.staff_role is None]
        for m in members:
            if m.staff_role is not None and m.active:
                self.lti_staff(issuer, m.subject, m.name, course, m.staff_role)
        listed = {self.lti_student(issuer, m.subject, m.name, m.email, course) for m in learners if m.active}
        at = now()
        joined = left = 0
        with self.sessions.begin() as s:
            theirs = set(s.scalars(select(Enrollment.student).join(LtiUser, LtiUser.student == Enrollment.student)
                                   .where(Enrollment.course == course, LtiUser.issuer == issuer)))
            marks = {m.student: m for m in s.scalars(select(LtiMembership).where(LtiMembership.course == course))}
            for student in theirs | listed:
                mark = marks.get(student)
                if mark is None:
                    mark = LtiMembership(course=course, student=student, synced_at=at, left_at=None)
                    s.add(mark)
                    joined += student in listed
                elif student in listed and mark.left_at is not None:
                    joined += 1
                if student in listed:
                    mark.left_at = None
                elif mark.left_at is None:
                    mark.left_at = at
                    left += 1
                mark.synced_at = at
        return Synced(joined, left, len(listed))

    def lti_departed(self, course: str) -> set[str]:
        """The course's students the platform no longer lists as active."""
        with self.sessions() as s:
            return set(s.scalars(select(LtiMembership.student).where(LtiMembership.course == course,
                                                                      LtiMembership.left_at.is_not(None))))
