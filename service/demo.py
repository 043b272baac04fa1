"""The demo course loaded on a first `grader serve`: three students and the bundled example notebooks."""

from __future__ import annotations

from pathlib import Path

from service import lifecycle
from service.lifecycle import Publisher
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
    examples = sorted(Path(settings.assignments_dir, ASSIGNMENT, "examples").glob("*.ipynb"))
    for i, path in enumerate(examples):
        submission = lifecycle.receive(store, students[i % len(students)].id, ASSIGNMENT, path.name,
                                       path.read_bytes())
        lifecycle.take_turns(store, publisher, submission.student, settings.max_active_per_student)
    return students
