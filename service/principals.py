"""Who a token names: tokens are random and stored only as hashes, compared in constant time.

Kept apart from the HTTP layer (service.auth) so the store and the workers can make and check tokens
without importing the web framework.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

INSTRUCTOR = "instructor"      # GRADER_INSTRUCTOR_TOKEN: the service administrator (today's routes' instructor)
STUDENT = "student"
STAFF = "staff"                # a course's instructor or TA, by their own token


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """SHA-256 of the token: tokens are 192 random bits, so an unsalted fast hash cannot be brute-forced."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    role: str                      # INSTRUCTOR (the administrator), STUDENT or STAFF
    student: str | None = None     # the student's id when role is STUDENT
    course: str | None = None      # a staff member's course, id and role there (instructor | ta)
    staff: str | None = None
    staff_role: str | None = None

    @property
    def is_instructor(self) -> bool:
        """The service administrator: every course, and today's routes on course `default`."""
        return self.role == INSTRUCTOR

    @property
    def is_student(self) -> bool:
        return self.role == STUDENT

    def sees_course(self, course: str) -> bool:
        """Staff-wide sight of a course's records: the administrator, or its own staff."""
        return self.is_instructor or (self.role == STAFF and self.course == course)

    @property
    def key(self) -> str:
        """The principal's name in shared records (its session generation)."""
        if self.role == STAFF:
            return f"{STAFF}:{self.course}:{self.staff}"
        return INSTRUCTOR if self.is_instructor else f"{STUDENT}:{self.student}"

    @property
    def actor(self) -> str:
        """Who it is in the audit log: `admin`, `instructor:<id>`, `ta:<id>` or `student:<id>`."""
        if self.role == STAFF:
            return f"{self.staff_role}:{self.staff}"
        return "admin" if self.is_instructor else f"{STUDENT}:{self.student}"


def identify(store, token: str) -> Principal | None:
    """The principal a token belongs to, or None."""
    digest = token_hash(token)
    instructor = store.credential(INSTRUCTOR)
    if instructor is not None and hmac.compare_digest(digest, instructor):
        return Principal(INSTRUCTOR)
    student = store.student_by_token_hash(digest)
    if student is not None and hmac.compare_digest(digest, student.token_hash):
        return Principal(STUDENT, student.id)
    member = store.staff_by_token_hash(digest)
    if member is not None and hmac.compare_digest(digest, member.token_hash):
        return Principal(STAFF, course=member.course, staff=member.id, staff_role=member.role)
    return None
