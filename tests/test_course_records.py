"""Courses' records on SQLite and PostgreSQL: a database made by the previous release moves into course
`default` with every submission and result; a course's standings count late work with its penalty; every
change staff make is in the audit log with its actor."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, insert, select, update

from service import assignments, bootstrap, db, grades, lateness, lifecycle, principals
from service.clocks import now
from service.models import DEFAULT_COURSE, Result, Submission
from service.settings import ServiceSettings
from service.store import CourseError, Store
from tests.service_parts import TINY_NOTEBOOK, empty, live

ROSTER = "id,name,email\nann,Ann,a@x.org\nben,Ben,b@x.org\n"


def report(score: float) -> dict:
    return {"submission": "t.ipynb", "seed": 1, "score": score, "max_score": 2, "error": None,
            "units": {"cross_entropy_error": {"score": score, "max_score": 2, "checks": []}}}


def test_a_database_of_the_previous_release_keeps_every_submission_and_result_in_course_default(
        database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.migrate(engine, "0005_scale")
    at = now().replace(tzinfo=None)
    with engine.begin() as conn:      # written as 0005's tables have them (reflected, not today's models)
        tables = {n: Table(n, MetaData(), autoload_with=conn) for n in ("assignments", "students", "submissions",
                                                                        "results", "manual_grades")}
        conn.execute(insert(tables["assignments"]).values(name="tiny", title="Tiny", max_score=2,
                                                          units=["cross_entropy_error"], policy="best"))
        conn.execute(insert(tables["students"]), [{"id": s, "name": s.title(), "email": "", "token_hash": f"h{s}"}
                                                  for s in ("ann", "ben")])
        for n, student in enumerate(("ann", "ann", "ben")):
            conn.execute(insert(tables["submissions"]).values(
                id=f"{n:032d}", assignment="tiny", student=student, filename="t.ipynb", notebook=TINY_NOTEBOOK,
                sha256="", seed=n, status="done", received_at=at - timedelta(hours=3 - n), attempts=1))
            conn.execute(insert(tables["results"]).values(
                submission_id=f"{n:032d}", score=n, max_score=2, unit_scores={"cross_entropy_error": n},
                unit_max_scores={"cross_entropy_error": 2}, failing=[], error=None, report=report(n),
                grading_seconds=0.1, grader_version="old", recorded_at=at))
        conn.execute(insert(tables["manual_grades"]).values(assignment="tiny", student="ann",
                                                           submission_id=f"{0:032d}", score=3, comment="essay",
                                                           graded_at=at))
    db.migrate(engine)
    store = Store(engine)
    with store.sessions() as s:
        kept = s.execute(select(Submission.id, Submission.course, Submission.late_days, Result.score)
                         .join(Result, Result.submission_id == Submission.id).order_by(Submission.id)).all()
    assert [tuple(r) for r in kept] == [(f"{n:032d}", DEFAULT_COURSE, 0, n) for n in range(3)]
    assert [s.id for s in store.roster(DEFAULT_COURSE)] == ["ann", "ben"]
    offering = store.offering(DEFAULT_COURSE, "tiny")
    assert (offering.counts, offering.due, offering.late_until) == ("best", None, None)   # its policy, no dates
    rows = {r.student: r for r in grades.rows(store, store.assignment("tiny"))}
    assert rows["ann"].counted.submission == f"{1:032d}" and rows["ann"].manual_score == 3
    assert rows["ben"].counted.score == 2
    engine.dispose()


def test_a_manual_grade_of_the_previous_release_moves_to_its_submissions_course(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.migrate(engine, "0008_lti_advantage")
    at = now().replace(tzinfo=None)
    with engine.begin() as conn:      # written as 0008's tables have them: one manual grade per student
        tables = {n: Table(n, MetaData(), autoload_with=conn) for n in ("assignments", "students", "courses",
                                                                        "submissions", "manual_grades")}
        conn.execute(insert(tables["assignments"]).values(name="tiny", title="Tiny", max_score=2,
                                                          units=["cross_entropy_error"], policy="best"))
        conn.execute(insert(tables["students"]).values(id="ann", name="Ann", email="", token_hash="h"))
        conn.execute(insert(tables["courses"]).values(id="ml", title="ML", term="", time_zone="UTC", created_at=at))
        conn.execute(insert(tables["submissions"]).values(
            id="0" * 32, course="ml", assignment="tiny", student="ann", filename="t.ipynb", notebook=TINY_NOTEBOOK,
            sha256="", seed=1, status="done", received_at=at, attempts=1, late_days=0))
        conn.execute(insert(tables["manual_grades"]).values(assignment="tiny", student="ann", submission_id="0" * 32,
                                                           score=3, comment="essay", graded_at=at))
    db.migrate(engine)
    store = Store(engine)
    assert {s: g.grade.score for s, g in store.manual_grades("tiny", "ml").items()} == {"ann": 3}
    assert store.manual_grades("tiny", DEFAULT_COURSE) == {}
    engine.dispose()


@pytest.fixture(scope="module")
def settings(module_database_url: str, module_assignments_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> ServiceSettings:
    return replace(ServiceSettings.from_env(), data_dir=tmp_path_factory.mktemp("var"),
                   database_url=module_database_url, assignments_dir=module_assignments_dir, broker_url=None,
                   requeue_after=300, max_attempts=3)


@pytest.fixture(scope="module")
def opened(settings: ServiceSettings):
    store = bootstrap.open_store(settings)
    yield store
    store.engine.dispose()


@pytest.fixture
def store(opened: Store, settings: ServiceSettings) -> Store:
    """A course `ml` (besides `default`) with two students."""
    empty(opened, keep=("alembic_version",))
    assignments.register(opened, settings.assignments_dir)
    opened.create_course("ml", "Machine learning", "2027 spring", "Asia/Tokyo", actor="admin")
    opened.import_roster(ROSTER, course="ml", actor="instructor:kim")
    return opened


def graded(store: Store, settings: ServiceSettings, student: str, score: float, late_days: int,
           hours_ago: float, course: str = "ml") -> str:
    """A graded submission in the course (`ml`), received `late_days` started days after its due time (then
    dated `hours_ago` back, for the order of arrival)."""
    due = now() + timedelta(hours=1) - timedelta(days=late_days)
    submission = lifecycle.receive(store, student, "tiny", "t.ipynb", TINY_NOTEBOOK, course=course,
                                   dates=lateness.Dates(None, due, None))
    assert submission.late_days == late_days
    with store.sessions.begin() as s:
        s.execute(update(Submission).where(Submission.id == submission.id).values(
            received_at=now() - timedelta(hours=hours_ago)))
    assert store.take_turns(student, 1) == [submission.id]
    claimed = lifecycle.claim(store, submission.id, live(store, "w"), settings)
    assert lifecycle.record(store, claimed, report(score), 0.1)
    return submission.id


def test_best_counts_the_highest_score_after_the_penalty_and_latest_the_last_one(
        store: Store, settings: ServiceSettings) -> None:
    store.set_offering("ml", "tiny", "instructor:kim", late_penalty_per_day=0.25, counts="best")
    on_time = graded(store, settings, "ann", 1.0, late_days=0, hours_ago=3)
    late = graded(store, settings, "ann", 2.0, late_days=2, hours_ago=1)      # 2 - 2 x 0.25 x 2 = 1.0: a tie
    rows = {r.student: r for r in grades.rows(store, store.assignment("tiny"), "ml")}
    assert rows["ann"].counted.submission == on_time                        # the earliest of the highest
    assert [r.student for r in grades.rows(store, store.assignment("tiny"), "ml")] == ["ann", "ben"]
    store.set_offering("ml", "tiny", "instructor:kim", counts="latest")
    counted = {r.student: r for r in grades.rows(store, store.assignment("tiny"), "ml")}["ann"].counted
    assert (counted.submission, counted.raw_score, counted.late_days, counted.penalty, counted.score) == \
        (late, 2.0, 2, 1.0, 1.0)
    assert grades.rows(store, store.assignment("tiny")) == []           # course `default`'s roster is empty


def test_a_student_in_two_courses_has_a_manual_grade_in_each(store: Store, settings: ServiceSettings) -> None:
    """A repeated course or a second section: one course's staff grading the written part leave the other's alone."""
    store.import_roster(ROSTER, course=DEFAULT_COURSE, actor="admin")
    in_ml = graded(store, settings, "ann", 1.0, late_days=0, hours_ago=2)
    in_default = graded(store, settings, "ann", 2.0, late_days=0, hours_ago=1, course=DEFAULT_COURSE)
    store.set_manual_grade(in_ml, 3, "essay in ml", actor="instructor:kim")
    store.set_manual_grade(in_default, 1, "essay in default", actor="admin")
    given = {c: {r.student: r for r in grades.rows(store, store.assignment("tiny"), c)}["ann"].manual_score
             for c in ("ml", DEFAULT_COURSE)}
    assert given == {"ml": 3, DEFAULT_COURSE: 1}
    assert store.manual_grade(in_ml).grade.comment == "essay in ml"
    assert {a.submission.id: a.manual.score for a in store.attempts("ann")} == {in_ml: 3, in_default: 1}


def test_every_change_staff_make_is_in_the_audit_log_with_its_actor(store: Store, settings: ServiceSettings) -> None:
    store.set_offering("ml", "tiny", "instructor:kim", due=now() + timedelta(days=1))
    store.set_extension("ml", "tiny", "ben", "instructor:kim", due=now() + timedelta(days=3))
    made = store.add_staff("ml", "tom", "Tom", "ta", actor="instructor:kim")
    assert store.staff_by_token_hash(principals.token_hash(made.token)).id == "tom"
    store.rotate_staff_token("ml", "tom", actor="instructor:kim")
    with pytest.raises(CourseError):
        store.add_staff("ml", "tom", "Tom", "ta", actor="instructor:kim")
    submission = graded(store, settings, "ann", 1.0, late_days=0, hours_ago=1)
    store.set_manual_grade(submission, 2.0, "fine", actor="ta:tom")
    log = [(e.actor, e.action, e.subject) for e in reversed(store.audit_log("ml"))]
    assert log == [("admin", "course", "ml"), ("instructor:kim", "roster", ""), ("instructor:kim", "dates", "tiny"),
                   ("instructor:kim", "extension", "tiny/ben"), ("instructor:kim", "staff", "tom"),
                   ("instructor:kim", "token_rotation", "tom"), ("ta:tom", "manual_grade", "tiny/ann")]
    dates = store.audit_log("ml")[4]
    assert dates.before is None and dates.after["due"] is not None      # offered in `ml` by this change
