"""Courses' records: courses, their staff (tokens by hash), offerings with dates, extensions, and the audit log
(appended in the same transaction as the change it records; nothing here edits or deletes an entry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service import principals
from service.clocks import now
from service.models import (
    DEFAULT_COURSE,
    AuditEntry,
    Course,
    Enrollment,
    Extension,
    Offering,
    StaffMember,
    Student,
)
from service.store.sign_ins import end_sessions

OFFERING_FIELDS = ("opens", "due", "late_until", "late_penalty_per_day", "counts", "visible_before_opens")


class CourseError(ValueError):
    """A course or staff id already taken."""


@dataclass(frozen=True)
class NewStaff:
    """A staff account as just made: its token is shown this once."""

    member: StaffMember
    token: str


def audit(s: Session, course: str, actor: str, action: str, subject: str = "", before: dict | None = None,
          after: dict | None = None) -> None:
    """Append one entry to the course's audit log, inside the caller's transaction."""
    s.add(AuditEntry(course=course, at=now(), actor=actor, action=action, subject=subject, before=before,
                     after=after))


def ensure_default_course(s: Session) -> None:
    """Course `default` (today's routes answer for it) exists: the migration makes it, and so does a first start
    on records emptied since."""
    if s.get(Course, DEFAULT_COURSE) is None:
        s.add(Course(id=DEFAULT_COURSE, title="Default course", term="", time_zone="Asia/Tokyo", created_at=now()))
        s.flush()


def offering_facts(row: Offering | None) -> dict[str, Any] | None:
    """An offering's dates and policy as JSON (ISO 8601, UTC): what the API answers and the audit log keeps."""
    if row is None:
        return None
    return {f: (v.isoformat() if hasattr(v, "isoformat") else v) for f in OFFERING_FIELDS
            for v in [getattr(row, f)]}


class CourseRecords:
    sessions: sessionmaker[Session]

    # --- courses ------------------------------------------------------------------------------------

    def create_course(self, course_id: str, title: str, term: str, time_zone: str, actor: str) -> Course:
        course = Course(id=course_id, title=title, term=term, time_zone=time_zone, created_at=now())
        try:
            with self.sessions.begin() as s:
                s.add(course)
                s.flush()
                audit(s, course_id, actor, "course", course_id, None,
                      {"title": title, "term": term, "time_zone": time_zone})
        except IntegrityError:
            raise CourseError(f"a course {course_id!r} exists already") from None
        return course

    def course(self, course_id: str) -> Course | None:
        with self.sessions() as s:
            return s.get(Course, course_id)

    def courses(self, student: str | None = None) -> list[Course]:
        """Every course, or those a student is enrolled in."""
        query = select(Course).order_by(Course.id)
        if student is not None:
            query = query.join(Enrollment, Enrollment.course == Course.id).where(Enrollment.student == student)
        with self.sessions() as s:
            return list(s.scalars(query))

    def enrolled(self, course: str, student: str) -> bool:
        with self.sessions() as s:
            return s.get(Enrollment, (course, student)) is not None

    def roster(self, course: str) -> list[Student]:
        with self.sessions() as s:
            return list(s.scalars(select(Student).join(Enrollment, Enrollment.student == Student.id)
                                  .where(Enrollment.course == course).order_by(Student.id)))

    # --- staff --------------------------------------------------------------------------------------

    def add_staff(self, course: str, staff_id: str, name: str, role: str, actor: str) -> NewStaff:
        """A new staff account with a fresh token; a staff id already in the course keeps its account
        (CourseError: rotating a token is its own change)."""
        token = principals.new_token()
        member = StaffMember(course=course, id=staff_id, name=name, role=role, token_hash=principals.token_hash(token))
        try:
            with self.sessions.begin() as s:
                s.add(member)
                s.flush()
                audit(s, course, actor, "staff", staff_id, None, {"name": name, "role": role})
        except IntegrityError:
            raise CourseError(f"{staff_id!r} is on the course's staff already") from None
        return NewStaff(member, token)

    def rotate_staff_token(self, course: str, staff_id: str, actor: str) -> str | None:
        """A fresh token for a staff account (the old one stops working, and so do the page sessions it signed
        in); None if there is no such account."""
        token = principals.new_token()
        with self.sessions.begin() as s:
            member = s.get(StaffMember, (course, staff_id))
            if member is None:
                return None
            member.token_hash = principals.token_hash(token)
            end_sessions(s, principals.Principal(principals.STAFF, course=course, staff=staff_id).key)  # pages too
            audit(s, course, actor, "token_rotation", staff_id)
        return token

    def staff_by_token_hash(self, token_hash: str) -> StaffMember | None:
        with self.sessions() as s:
            return s.scalar(select(StaffMember).where(StaffMember.token_hash == token_hash))

    def staff_member(self, course: str, staff_id: str) -> StaffMember | None:
        with self.sessions() as s:
            return s.get(StaffMember, (course, staff_id))

    def staff(self, course: str) -> list[StaffMember]:
        with self.sessions() as s:
            return list(s.scalars(select(StaffMember).where(StaffMember.course == course).order_by(StaffMember.id)))

    # --- offerings and extensions -------------------------------------------------------------------

    def ensure_offerings(self, course: str, assignments: list[str]) -> None:
        """An offering without dates for each of these assignments the course lacks (course `default` offers
        every registered assignment, as before courses)."""
        with self.sessions.begin() as s:
            have = set(s.scalars(select(Offering.assignment).where(Offering.course == course)))
            for name in assignments:
                if name not in have:
                    s.add(Offering(course=course, assignment=name, late_penalty_per_day=0.0, counts="latest",
                                   visible_before_opens=False))

    def offering(self, course: str, assignment: str) -> Offering | None:
        with self.sessions() as s:
            return s.get(Offering, (course, assignment))

    def offerings(self, course: str) -> list[Offering]:
        with self.sessions() as s:
            return list(s.scalars(select(Offering).where(Offering.course == course).order_by(Offering.assignment)))

    def set_offering(self, course: str, assignment: str, actor: str, **fields: Any) -> Offering:
        """Create or change an offering's dates and policy; the change is audited with before and after."""
        with self.sessions.begin() as s:
            row = s.get(Offering, (course, assignment))
            before = offering_facts(row)
            if row is None:
                row = Offering(course=course, assignment=assignment)
                s.add(row)
            for name, value in fields.items():
                setattr(row, name, value)
            s.flush()
            audit(s, course, actor, "dates", assignment, before, offering_facts(row))
        return row

    def extension(self, course: str, assignment: str, student: str) -> Extension | None:
        with self.sessions() as s:
            return s.get(Extension, (course, assignment, student))

    def extensions(self, course: str, assignment: str) -> list[Extension]:
        with self.sessions() as s:
            return list(s.scalars(select(Extension).where(Extension.course == course,
                                                          Extension.assignment == assignment)
                                  .order_by(Extension.student)))

    def set_extension(self, course: str, assignment: str, student: str, actor: str, **dates: Any) -> Extension:
        with self.sessions.begin() as s:
            row = s.get(Extension, (course, assignment, student))
            before = _dates(row)
            if row is None:
                row = Extension(course=course, assignment=assignment, student=student)
                s.add(row)
            row.due, row.late_until = dates.get("due"), dates.get("late_until")
            audit(s, course, actor, "extension", f"{assignment}/{student}", before, _dates(row))
        return row

    # --- the audit log ------------------------------------------------------------------------------

    def append_audit(self, course: str, actor: str, action: str, subject: str = "", before: dict | None = None,
                     after: dict | None = None) -> None:
        with self.sessions.begin() as s:
            audit(s, course, actor, action, subject, before, after)

    def audit_log(self, course: str = DEFAULT_COURSE, limit: int = 1000) -> list[AuditEntry]:
        """The course's newest entries first."""
        with self.sessions() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.course == course)
                                  .order_by(AuditEntry.id.desc()).limit(limit)))


def _dates(row: Extension | None) -> dict | None:
    if row is None:
        return None
    return {"due": row.due.isoformat() if row.due else None,
            "late_until": row.late_until.isoformat() if row.late_until else None}
