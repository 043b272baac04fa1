"""LTI Advantage's records: a platform's context as a course here (made at its first instructor launch, or
linked to an existing course by the administrator), its users as that course's students and staff, its
resource links as offerings. Ids made here are digests of the platform's ids, so a platform's user or
context is one record however often, and on however many machines at once, it arrives."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service import principals
from service.clocks import now
from service.models import (
    Course,
    Enrollment,
    LtiContext,
    LtiResourceLink,
    LtiUser,
    StaffMember,
    Student,
)
from service.store.course_records import CourseError, audit


@dataclass(frozen=True)
class Context:
    """A platform's context as the launch and the Advantage services read it."""

    issuer: str
    context_id: str
    course: str
    platform_id: int
    memberships_url: str | None
    lineitems_url: str | None


def _context(row: LtiContext) -> Context:
    return Context(row.issuer, row.context_id, row.course, row.platform_id, row.memberships_url, row.lineitems_url)


def platform_id_of(issuer: str, *ids: str) -> str:
    """A stable id here for something a platform names: `lti-` and a digest of the issuer and its ids."""
    return "lti-" + hashlib.sha256("\n".join((issuer, *ids)).encode()).hexdigest()[:16]


class LtiCourseRecords:
    sessions: sessionmaker[Session]

    def lti_context(self, issuer: str, context_id: str) -> Context | None:
        with self.sessions() as s:
            row = s.get(LtiContext, (issuer, context_id))
            return _context(row) if row is not None else None

    def lti_contexts(self, course: str) -> list[Context]:
        """The platforms' contexts linked to a course (its roster and grades flow through each)."""
        with self.sessions() as s:
            return [_context(r) for r in s.scalars(select(LtiContext).where(LtiContext.course == course))]

    def open_context(self, issuer: str, context_id: str, platform_id: int, title: str,
                     memberships_url: str | None, lineitems_url: str | None) -> Context:
        """The context's course, made with the context's title at its first launch (the caller lets only an
        instructor's come here unknown); the service URLs follow the latest launch's."""
        for _ in range(3):          # two first launches racing: the loser finds the winner's records
            try:
                with self.sessions.begin() as s:
                    row = s.get(LtiContext, (issuer, context_id))
                    if row is None:
                        course = platform_id_of(issuer, context_id)
                        if s.get(Course, course) is None:
                            s.add(Course(id=course, title=title or context_id, term="", time_zone="Asia/Tokyo",
                                         created_at=now()))
                            s.flush()
                            audit(s, course, f"lti:{issuer}"[:120], "course", course, None,
                                  {"title": title or context_id, "lti_context": context_id})
                        row = LtiContext(issuer=issuer, context_id=context_id, course=course,
                                         platform_id=platform_id)
                        s.add(row)
                    row.memberships_url = memberships_url or row.memberships_url
                    row.lineitems_url = lineitems_url or row.lineitems_url
                    s.flush()
                    return _context(row)
            except IntegrityError:
                continue
        raise CourseError(f"the context {context_id!r} could not be opened")

    def link_context(self, issuer: str, context_id: str, platform_id: int, course: str) -> Context:
        """The administrator's link of a platform's context to an existing course (before or instead of its
        first launch); CourseError if there is no such course."""
        with self.sessions.begin() as s:
            if s.get(Course, course) is None:
                raise CourseError(f"no course {course!r}")
            row = s.get(LtiContext, (issuer, context_id))
            if row is None:
                row = LtiContext(issuer=issuer, context_id=context_id, course=course, platform_id=platform_id)
                s.add(row)
            row.course, row.platform_id = course, platform_id
            audit(s, course, "admin", "course", course, None, {"lti_issuer": issuer, "lti_context": context_id})
            s.flush()
            return _context(row)

    def lti_staff(self, issuer: str, subject: str, name: str, course: str, role: str) -> str:
        """The staff account of a platform's instructor or TA in the course, made at their first launch there
        (its token is never shown: they sign in through the platform); name and role follow the platform's."""
        staff_id = platform_id_of(issuer, subject)
        with self.sessions.begin() as s:
            member = s.get(StaffMember, (course, staff_id))
            if member is None:
                member = StaffMember(course=course, id=staff_id, name=name or staff_id, role=role,
                                     token_hash=principals.token_hash(principals.new_token()))
                s.add(member)
                audit(s, course, f"lti:{issuer}"[:120], "staff", staff_id, None, {"name": member.name, "role": role})
            elif member.role != role or (name and member.name != name):
                audit(s, course, f"lti:{issuer}"[:120], "staff", staff_id, {"name": member.name, "role": member.role},
                      {"name": name or member.name, "role": role})
                member.role, member.name = role, name or member.name
        return staff_id

    def lti_student(self, issuer: str, subject: str, name: str, email: str, course: str) -> str:
        """The roster entry of a platform's user, made and enrolled in the course at their first launch there
        (its token is never shown: they sign in through the platform; the enrollment is audited); name and
        email follow the platform's."""
        with self.sessions.begin() as s:
            link = s.get(LtiUser, (issuer, subject))
            if link is None:
                student_id = platform_id_of(issuer, subject)
                student = s.get(Student, student_id)
                if student is None:
                    student = Student(id=student_id, name=name, email=email,
                                      token_hash=principals.token_hash(principals.new_token()))
                    s.add(student)
                    s.flush()
                s.add(LtiUser(issuer=issuer, subject=subject, student=student_id))
            else:
                student = s.get(Student, link.student)
            if name:
                student.name = name
            if email:
                student.email = email
            if s.get(Enrollment, (course, student.id)) is None:
                s.add(Enrollment(course=course, student=student.id))
                audit(s, course, f"lti:{issuer}"[:120], "roster", "", None, {"students": [student.id], "new": []})
            return student.id

    def resource_link(self, issuer: str, link_id: str) -> LtiResourceLink | None:
        with self.sessions() as s:
            return s.get(LtiResourceLink, (issuer, link_id))

    def link_resource(self, issuer: str, link_id: str, course: str, assignment: str) -> None:
        """The resource link opens this offering from now on (the first launch after a deep link sets it)."""
        with self.sessions.begin() as s:
            row = s.get(LtiResourceLink, (issuer, link_id))
            if row is None:
                s.add(LtiResourceLink(issuer=issuer, link_id=link_id, course=course, assignment=assignment))
            elif (row.course, row.assignment) != (course, assignment):
                row.course, row.assignment, row.lineitem_url = course, assignment, None
