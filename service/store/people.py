"""People and their tokens: the roster (students, with only the hash of their token, enrolled per course) and
other credentials."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service import principals
from service.models import DEFAULT_COURSE, Credential, Enrollment, Student
from service.store.course_records import audit, ensure_default_course


@dataclass(frozen=True)
class RosterEntry:
    """A roster line as imported; `token` is set only when it was issued just now."""

    id: str
    name: str
    email: str
    token: str | None


class RosterError(ValueError):
    """A roster CSV without the `id,name,email` header or with an empty id."""


class PeopleRecords:
    sessions: sessionmaker[Session]

    def import_roster(self, csv_text: str, course: str = DEFAULT_COURSE, actor: str = "admin") -> list[RosterEntry]:
        """Enroll the roster's students in the course, new ones with fresh tokens (students already known keep
        theirs); audited with the ids it enrolled."""
        rows = list(csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"))))
        if not rows or not {"id", "name", "email"} <= set(rows[0]):
            raise RosterError("the roster must be CSV with the header id,name,email")
        entries = []
        with self.sessions.begin() as s:
            if course == DEFAULT_COURSE:
                ensure_default_course(s)
            for row in rows:
                sid = (row.get("id") or "").strip()
                if not sid:
                    raise RosterError("every roster line needs an id")
                student = s.get(Student, sid)
                token = None
                if student is None:
                    token = principals.new_token()
                    student = Student(id=sid, token_hash=principals.token_hash(token))
                    s.add(student)
                student.name, student.email = (row.get("name") or "").strip(), (row.get("email") or "").strip()
                if s.get(Enrollment, (course, sid)) is None:
                    s.add(Enrollment(course=course, student=sid))
                entries.append(RosterEntry(sid, student.name, student.email, token))
            audit(s, course, actor, "roster", "", None, {"students": [e.id for e in entries],
                                                         "new": [e.id for e in entries if e.token]})
        return entries

    def student_by_token_hash(self, token_hash: str) -> Student | None:
        with self.sessions() as s:
            return s.scalar(select(Student).where(Student.token_hash == token_hash))

    def student(self, student_id: str) -> Student | None:
        with self.sessions() as s:
            return s.get(Student, student_id)

    def students(self) -> list[Student]:
        with self.sessions() as s:
            return list(s.scalars(select(Student).order_by(Student.id)))

    def credential(self, role: str) -> str | None:
        with self.sessions() as s:
            row = s.get(Credential, role)
            return row.token_hash if row else None

    def set_credential(self, role: str, token_hash: str) -> None:
        with self.sessions.begin() as s:
            s.merge(Credential(role=role, token_hash=token_hash))
