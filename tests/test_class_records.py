"""A class's records on SQLite and PostgreSQL: every rostered student has a standing, the counting submission
is chosen in SQL from the results' summaries, and a database from before the summaries gets them backfilled."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import JSON, Column, DateTime, Float, Integer, MetaData, String, Table, insert, select, update

from service import assignments, bootstrap, db, grades, lifecycle
from service.clocks import now
from service.models import Result, Submission
from service.settings import ServiceSettings
from service.store import Store
from tests.service_parts import TINY_NOTEBOOK, live

ROSTER = "id,name,email\nann,Ann,a@x.org\nben,Ben,b@x.org\ncho,Cho,c@x.org\ndan,Dan,d@x.org\n"


def report(score: float, failed: tuple[str, ...] = ()) -> dict:
    checks = [{"name": name, "passed": False, "message": "wrong", "diagnosis": {"id": "d", "message": "no delta"}}
              for name in failed] + [{"name": "ok", "passed": True, "message": ""}]
    return {"submission": "t.ipynb", "seed": 1, "score": score, "max_score": 2, "error": None,
            "units": {"cross_entropy_error": {"score": score, "max_score": 2, "checks": checks}}}


def graded(store: Store, settings: ServiceSettings, student: str, score: float, hours_ago: float = 0,
           failed: tuple[str, ...] = ()) -> str:
    submission = lifecycle.receive(store, student, "tiny", f"{student}.ipynb", TINY_NOTEBOOK)
    with store.sessions.begin() as s:
        s.execute(update(Submission).where(Submission.id == submission.id).values(
            received_at=now() - timedelta(hours=hours_ago)))
    assert store.take_turns(student, 1) == [submission.id]
    claimed = lifecycle.claim(store, submission.id, live(store, "w"), settings)
    assert lifecycle.record(store, claimed, report(score, failed), 0.1)
    return submission.id


def failed_grading(store: Store, settings: ServiceSettings, student: str) -> None:
    submission = lifecycle.receive(store, student, "tiny", f"{student}.ipynb", TINY_NOTEBOOK)
    assert store.take_turns(student, 1) == [submission.id]
    assert lifecycle.fail(store, lifecycle.claim(store, submission.id, live(store, "w"), settings), "grader broke")


@pytest.fixture
def class_store(database_url: str, module_assignments_dir: Path, tmp_path: Path) -> Store:
    settings = replace(ServiceSettings.from_env(), data_dir=tmp_path, database_url=database_url, broker_url=None,
                       assignments_dir=module_assignments_dir)
    store = bootstrap.open_store(settings)
    assignments.register(store, settings.assignments_dir)
    store.import_roster(ROSTER)
    yield store
    store.engine.dispose()


def test_every_rostered_student_has_a_row_graded_failed_or_without_submission(class_store: Store) -> None:
    settings = replace(ServiceSettings.from_env(), requeue_after=300, max_attempts=3)
    graded(class_store, settings, "ann", 2, hours_ago=2, failed=())
    last = graded(class_store, settings, "ann", 1, hours_ago=1, failed=("one_hot_1d",))
    failed_grading(class_store, settings, "ben")
    graded(class_store, settings, "dan", 0, failed=("one_hot_1d", "one_hot_1d/with_reference_deps"))
    rows = {r.student: r for r in grades.rows(class_store, class_store.assignment("tiny"))}
    assert [(s, r.status) for s, r in rows.items()] == [("ann", "graded"), ("ben", "failed"),
                                                      ("cho", "no submission"), ("dan", "graded")]
    assert rows["ann"].counted.submission == last and rows["ann"].counted.score == 1      # the latest counts
    assert rows["ann"].counted.failing == ["cross_entropy_error.one_hot_1d", "no delta"]
    assert rows["dan"].counted.failing == ["cross_entropy_error.one_hot_1d", "no delta"]  # a variant is its check
    assert rows["cho"].counted is None and rows["cho"].total is None
    class_store.set_policy("tiny", "best")
    best = grades.rows(class_store, class_store.assignment("tiny"))
    assert best[0].counted.score == 2 and best[0].counted.submission != last
    lines = grades.to_csv(best, ["cross_entropy_error"]).splitlines()
    assert lines[0].endswith(",cross_entropy_error,status")
    assert lines[3] == "cho,Cho,,,,,,,no submission" and lines[2].endswith(",failed")


def test_a_database_from_before_the_summaries_gets_them_from_its_reports(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.migrate(engine, "0003_sessions")
    store = Store(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO assignments (name, title, max_score, units, policy) "
                             "VALUES ('tiny', 'Tiny', 2, '[\"cross_entropy_error\"]', 'latest')")
        conn.exec_driver_sql("INSERT INTO students (id, name, email, token_hash) VALUES ('ann', 'Ann', '', 'h')")
    submission_id = "0" * 32      # written as that schema's submissions table has it (reflected, not today's model)
    with engine.begin() as conn:
        conn.execute(insert(Table("submissions", MetaData(), autoload_with=conn)).values(
            id=submission_id, assignment="tiny", student="ann", filename="t.ipynb", notebook=TINY_NOTEBOOK,
            sha256="", seed=1, status="received", received_at=now().replace(tzinfo=None), attempts=0))
    old = report(1, failed=("one_hot_1d",)) | {"error": "late cell"}
    legacy = Result.__table__.c
    with engine.begin() as conn:
        conn.execute(insert(_legacy_results()).values(
            submission_id=submission_id, score=1, max_score=2, unit_scores={"cross_entropy_error": 1}, report=old,
            grading_seconds=0.1, grader_version="old", recorded_at=now().replace(tzinfo=None)))
    db.migrate(engine)
    with store.sessions() as s:
        row = s.execute(select(legacy.unit_max_scores, legacy.failing, legacy.error)).one()
    assert tuple(row) == ({"cross_entropy_error": 2.0}, ["cross_entropy_error.one_hot_1d", "no delta"], "late cell")
    if engine.dialect.name == "sqlite":      # what the lists read comes before the report in each row
        with engine.connect() as conn:
            order = [c[1] for c in conn.exec_driver_sql("PRAGMA table_info(results)")]
        assert order.index("failing") < order.index("report") and order.index("error") < order.index("report")
    engine.dispose()


def _legacy_results():
    """The results table as the migrations before 0004 left it (no summary columns)."""
    return Table("results", MetaData(), Column("id", Integer, primary_key=True), Column("submission_id", String(32)),
                 Column("score", Float), Column("max_score", Float), Column("unit_scores", JSON),
                 Column("report", JSON), Column("grading_seconds", Float), Column("grader_version", String(40)),
                 Column("recorded_at", DateTime(timezone=True)))
