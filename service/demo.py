"""The demo course loaded on a first `grader serve`: three students and the bundled example notebooks, the
assignment offered in course `default` with dates: it was due an hour ago and takes late work for two weeks
at 10 % a day; Alice and Chika have an extension, so Bob's notebooks arrive one day late."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from service import lifecycle, offerings
from service.lifecycle import Publisher
from service.models import DEFAULT_COURSE
from service.settings import ServiceSettings
from service.store import RosterEntry, Store

ASSIGNMENT = "backprop"
ROSTER = """id,name,email
demo-alice,Alice Demo,alice@example.org
demo-bob,Bob Demo,bob@example.org
demo-chika,千佳 デモ,chika@example.org
"""


def wanted(store: Store) -> bool:
    """Only on a fresh course: no student yet."""
    return not store.students()


def load(store: Store, publisher: Publisher, settings: ServiceSettings) -> list[RosterEntry]:
    """Import the demo roster and submit the assignment's example notebooks, round-robin over the students."""
    students = store.import_roster(ROSTER)
    at = store.clock()
    offering = store.set_offering(DEFAULT_COURSE, ASSIGNMENT, "admin", opens=at - timedelta(days=7),
                                  due=at - timedelta(hours=1), late_until=at + timedelta(days=14),
                                  late_penalty_per_day=0.1, counts="best", visible_before_opens=False)
    for student in (students[0], students[2]):
        store.set_extension(DEFAULT_COURSE, ASSIGNMENT, student.id, "admin", due=at + timedelta(days=14))
    examples = sorted(Path(settings.assignments_dir, ASSIGNMENT, "examples").glob("*.ipynb"))
    for i, path in enumerate(examples):
        student = students[i % len(students)].id
        submission = lifecycle.receive(store, student, ASSIGNMENT, path.name, path.read_bytes(),
                                       dates=offerings.own_dates(store, offering, student))
        lifecycle.take_turns(store, publisher, submission.student, settings.max_active_per_student)
    return students
