"""LTI Advantage's records on SQLite and PostgreSQL: a database of the previous release (0007) keeps its
platforms and platform users through 0008, whose contexts then map to courses; a context opened by several
first launches at once is one course; an offering's score lease is one API process's at a time, and a dead
holder's runs out; a refused score's retry waits longer each time, never more than an hour."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import MetaData, Table, insert

from service import db
from service.clocks import now
from service.store import Store


def test_a_database_of_the_previous_release_keeps_its_platforms_and_users(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.migrate(engine, "0007_lti")
    with engine.begin() as conn:      # written as 0007's tables have them (reflected, not today's models)
        tables = {n: Table(n, MetaData(), autoload_with=conn) for n in ("lti_platforms", "lti_deployments",
                                                                        "lti_users", "students")}
        conn.execute(insert(tables["lti_platforms"]).values(
            id=1, issuer="https://lms.example", client_id="c", auth_url="https://lms.example/auth",
            token_url="https://lms.example/token", jwks_url="https://lms.example/jwks",
            added_at=now().replace(tzinfo=None)))
        conn.execute(insert(tables["lti_deployments"]).values(platform_id=1, deployment_id="d"))
        conn.execute(insert(tables["students"]).values(id="lti-old", name="Old", email="", token_hash="h"))
        conn.execute(insert(tables["lti_users"]).values(issuer="https://lms.example", subject="s1",
                                                        student="lti-old"))
    db.migrate(engine)
    store = Store(engine)
    [platform] = store.platforms()
    assert platform.deployments == ("d",)
    context = store.open_context("https://lms.example", "ctx", platform.id, "Course", None, None)
    assert store.lti_student("https://lms.example", "s1", "", "", context.course) == "lti-old"
    assert [s.id for s in store.roster(context.course)] == ["lti-old"]
    engine.dispose()


def test_first_launches_at_once_open_one_course(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.migrate(engine)
    store = Store(engine)
    platform = store.add_platform("https://lms.example", "c", "d", "https://lms.example/a", "https://lms.example/t",
                                  "https://lms.example/j")
    opened: list[str] = []
    launches = [threading.Thread(target=lambda: opened.append(store.open_context(
        "https://lms.example", "ctx", platform.id, "Deep Learning", "https://lms.example/m", None).course))
        for _ in range(4)]
    for t in launches:
        t.start()
    for t in launches:
        t.join()
    assert len(set(opened)) == 1 and len(opened) == 4
    assert [c.title for c in store.courses() if c.id == opened[0]] == ["Deep Learning"]
    assert store.lti_context("https://lms.example", "ctx").memberships_url == "https://lms.example/m"
    engine.dispose()


def test_an_offerings_score_lease_is_one_holders_until_released_or_run_out(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.migrate(engine)
    store = Store(engine)
    minute = timedelta(minutes=1)
    taken: list[str] = []
    racers = [threading.Thread(target=lambda n=n: store.take_score_lease("c1", "backprop", f"api-{n}", minute)
                               and taken.append(f"api-{n}")) for n in range(4)]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    [holder] = taken                                                  # the first sight of the offering, at once
    assert store.take_score_lease("c1", "backprop", holder, minute)  # renewed by its holder
    assert not store.take_score_lease("c1", "backprop", "api-late", minute)
    assert store.take_score_lease("c1", "forward", "api-late", minute)         # another offering is free
    store.release_score_lease("c1", "backprop", holder)
    assert store.take_score_lease("c1", "backprop", "api-late", timedelta(seconds=0.5))
    assert sorted(store.score_leases()) == [("c1", "backprop", "api-late"), ("c1", "forward", "api-late")]
    time.sleep(0.6)                                                   # its holder died: the lease runs out
    assert store.take_score_lease("c1", "backprop", holder, minute)
    engine.dispose()


def test_a_refused_scores_retry_doubles_from_the_first_and_stays_an_hour_after_days_of_refusals(
        database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.migrate(engine)
    store = Store(engine)
    for attempts, delay in ((1, 10), (2, 20), (4, 80), (9, 2560), (10, 3600), (500, 3600)):
        before = store.clock()
        later = store.score_changes_failed([], "the platform's score post answered 503", attempts,
                                           timedelta(seconds=10))
        assert before + timedelta(seconds=delay) <= later <= store.clock() + timedelta(seconds=delay), attempts
    engine.dispose()
