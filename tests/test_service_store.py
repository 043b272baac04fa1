"""The records and a submission's life, on SQLite and on PostgreSQL: exactly once, nothing lost, policies."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError

from service import assignments, bootstrap, lifecycle, principals, status
from service.models import Result, Submission, Worker
from service.settings import ServiceSettings
from service.store import LIVE_WORKER_SECONDS, RosterError, Store
from tests.service_parts import TINY_NOTEBOOK, empty, live


class SentIds:
    """A publisher that remembers what it was asked to send (the broker is not what these tests are about)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, submission_id: str) -> bool:
        self.sent.append(submission_id)
        return True

    def waiting(self) -> set[str] | None:
        return None


@pytest.fixture(scope="module")
def settings(module_database_url: str, module_assignments_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> ServiceSettings:
    """One database per kind for the module; `store` empties it before each test."""
    base = ServiceSettings.from_env()
    return replace(base, data_dir=tmp_path_factory.mktemp("var"), database_url=module_database_url,
                   assignments_dir=module_assignments_dir, broker_url=None, requeue_after=300, max_attempts=3)


@pytest.fixture(scope="module")
def opened(settings: ServiceSettings) -> Iterator[Store]:
    store = bootstrap.open_store(settings)
    yield store
    store.engine.dispose()


@pytest.fixture
def store(opened: Store, settings: ServiceSettings) -> Store:
    """The records as at a first start (the assignments registered), with two students."""
    empty(opened)
    assignments.register(opened, settings.assignments_dir)
    opened.import_roster("id,name,email\nann,Ann,ann@example.org\nben,Ben,ben@example.org\n")
    return opened


def queued(store: Store, student: str = "ann") -> str:
    submission = lifecycle.receive(store, student, "tiny", "t.ipynb", TINY_NOTEBOOK)
    lifecycle.take_turns(store, SentIds(), student, limit=100)
    return submission.id


def report(score: float) -> dict:
    return {"score": score, "max_score": 1, "units": {"cross_entropy_error": {"score": score, "max_score": 1}}}


def results_of(store: Store, submission_id: str) -> int:
    with store.sessions() as s:
        return s.scalar(select(func.count()).select_from(Result).where(Result.submission_id == submission_id))


def age(store: Store, submission_id: str, seconds: float) -> None:
    """Make a submission look as if it had waited `seconds` longer in its phase."""
    sub = store.submission(submission_id)
    with store.sessions.begin() as s:
        s.execute(update(Submission).where(Submission.id == submission_id).values(
            received_at=sub.received_at - _delta(seconds),
            queued_at=sub.queued_at and sub.queued_at - _delta(seconds),
            started_at=sub.started_at and sub.started_at - _delta(seconds)))


def _delta(seconds: float):
    from datetime import timedelta

    return timedelta(seconds=seconds)


def test_migrations_are_applied_at_start_and_again_harmlessly(settings: ServiceSettings) -> None:
    first = bootstrap.open_store(settings)
    second = bootstrap.open_store(settings)
    assert [a.name for a in second.assignments()] == ["backprop", "tiny"]
    first.engine.dispose()
    second.engine.dispose()


def test_a_submission_is_stored_with_its_bytes_before_it_is_queued(store: Store) -> None:
    publisher = SentIds()
    submission = lifecycle.receive(store, "ann", "tiny", "t.ipynb", TINY_NOTEBOOK)
    stored = store.submission(submission.id)
    assert (stored.status, stored.notebook, stored.queued_at) == ("received", TINY_NOTEBOOK, None)
    lifecycle.take_turns(store, publisher, "ann", limit=2)
    assert store.submission(submission.id).status == "queued" and publisher.sent == [submission.id]


def test_two_workers_claiming_the_same_submission_get_it_once(store: Store, settings: ServiceSettings) -> None:
    submission_id = queued(store)
    first = lifecycle.claim(store, submission_id, live(store, "w1"), settings)
    assert first is not None and lifecycle.claim(store, submission_id, live(store, "w2"), settings) is None
    assert lifecycle.record(store, first, report(1), 0.1)
    assert lifecycle.claim(store, submission_id, live(store, "w3"), settings) is None
    assert store.submission(submission_id).status == "done" and results_of(store, submission_id) == 1


def test_an_overtaken_attempt_records_nothing(store: Store, settings: ServiceSettings) -> None:
    submission_id = queued(store)
    slow = lifecycle.claim(store, submission_id, live(store, "slow"), settings)
    age(store, submission_id, 600)                      # the slow worker looks dead: a second one takes over
    fast = lifecycle.claim(store, submission_id, live(store, "fast"), settings)
    assert fast is not None and fast.token != slow.token
    assert lifecycle.record(store, fast, report(1), 0.1)
    assert not lifecycle.record(store, slow, report(0), 9.0)
    assert not lifecycle.fail(store, slow, "late")
    assert results_of(store, submission_id) == 1 and store.result(submission_id).score == 1
    assert store.submission(submission_id).attempts == 2


def test_an_attempt_whose_worker_process_died_on_this_machine_is_taken_over_at_once(
        store: Store, settings: ServiceSettings) -> None:
    submission_id = queued(store)
    dead = subprocess.Popen(["true"])
    dead.wait()
    killed = lifecycle.claim(store, submission_id, live(store, "here", pid=dead.pid), settings)
    elsewhere = queued(store)
    lifecycle.claim(store, elsewhere, live(store, "there", pid=dead.pid, machine="another-kernel"), settings)
    assert lifecycle.claim(store, elsewhere, live(store, "w"), settings) is None   # its PIDs are not ours: wait
    again = lifecycle.claim(store, submission_id, live(store, "w"), settings)
    assert again is not None and again.submission.attempts == 2
    assert lifecycle.record(store, again, report(1), 0.1) and not lifecycle.record(store, killed, report(0), 1)


def test_an_attempt_whose_worker_stopped_beating_is_taken_over_by_any_machine(
        store: Store, settings: ServiceSettings) -> None:
    submission_id = queued(store)
    cut_off = lifecycle.claim(store, submission_id, live(store, "cut-off", machine="another-kernel"), settings)
    assert lifecycle.claim(store, submission_id, live(store, "w"), settings) is None     # it still beats: wait
    with store.sessions.begin() as s:      # three beats missed, by the database's clock
        s.execute(update(Worker).where(Worker.name == "cut-off").values(
            seen_at=store.clock() - timedelta(seconds=LIVE_WORKER_SECONDS + 1)))
    again = lifecycle.claim(store, submission_id, live(store, "w"), settings)
    assert again is not None and store.submission(submission_id).worker_id == "w"
    assert lifecycle.record(store, again, report(1), 0.1) and not lifecycle.record(store, cut_off, report(0), 1)


def test_the_reconciler_hands_on_at_once_an_attempt_whose_worker_stopped_beating(
        store: Store, settings: ServiceSettings) -> None:
    """A killed machine's message stays unacknowledged in Redis for its visibility timeout: the reconciler does not
    wait for it, nor for GRADER_REQUEUE_AFTER, once the worker has missed three beats; a beating one keeps its own."""
    dead, beating = queued(store), queued(store)
    killed = lifecycle.claim(store, dead, live(store, "killed", machine="another-kernel"), settings)
    lifecycle.claim(store, beating, live(store, "busy", machine="another-kernel"), settings)
    with store.sessions.begin() as s:
        s.execute(update(Worker).where(Worker.name == "killed").values(
            seen_at=store.clock() - timedelta(seconds=LIVE_WORKER_SECONDS + 1)))
    publisher = SentIds()
    assert lifecycle.reconcile(store, publisher, settings.requeue_after, limit=100) == [dead] == publisher.sent
    taken = store.submission(dead)
    assert taken.status == "queued" and "killed stopped beating" in taken.error
    assert store.submission(beating).status == "running"
    assert lifecycle.reconcile(store, SentIds(), settings.requeue_after, limit=100) == []   # handed on once
    again = lifecycle.claim(store, dead, live(store, "w"), settings)
    assert lifecycle.record(store, again, report(1), 0.1) and not lifecycle.record(store, killed, report(0), 1)


def test_concurrent_records_of_one_attempt_leave_one_result(store: Store, settings: ServiceSettings) -> None:
    submission_id = queued(store)
    claim = lifecycle.claim(store, submission_id, live(store, "w"), settings)
    outcomes: list[bool] = []
    threads = [threading.Thread(target=lambda: outcomes.append(lifecycle.record(store, claim, report(1), 0.1)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False, False, False, True] and results_of(store, submission_id) == 1


def test_the_database_refuses_a_second_result(store: Store, settings: ServiceSettings) -> None:
    submission_id = queued(store)
    lifecycle.record(store, lifecycle.claim(store, submission_id, live(store, "w"), settings), report(1), 0.1)
    with pytest.raises(IntegrityError), store.sessions.begin() as s:
        s.add(Result(submission_id=submission_id, score=0, max_score=1, unit_scores={}, report={},
                     grading_seconds=0, grader_version="x", recorded_at=store.submission(submission_id).received_at))


def test_the_reconciler_resends_what_waited_too_long_and_nothing_else(store: Store,
                                                                      settings: ServiceSettings) -> None:
    waiting, fresh, running, done = (queued(store) for _ in range(4))
    lifecycle.claim(store, running, live(store, "dead-worker"), settings)
    lifecycle.record(store, lifecycle.claim(store, done, live(store, "w"), settings), report(1), 0.1)
    for submission_id in (waiting, running, done):
        age(store, submission_id, 600)
    publisher = SentIds()
    resent = lifecycle.reconcile(store, publisher, settings.requeue_after, limit=100)
    assert sorted(resent) == sorted([waiting, running])
    assert sorted(publisher.sent) == sorted([waiting, running])
    assert store.submission(running).status == "queued" and store.submission(fresh).status == "queued"
    assert lifecycle.reconcile(store, SentIds(), settings.requeue_after, limit=100) == []   # resent once per deadline


def test_a_submission_that_keeps_killing_workers_fails_after_max_attempts(store: Store,
                                                                           settings: ServiceSettings) -> None:
    submission_id = queued(store)
    for _ in range(settings.max_attempts):
        assert lifecycle.claim(store, submission_id, live(store, "w"), settings) is not None
        age(store, submission_id, 600)
    assert lifecycle.claim(store, submission_id, live(store, "w"), settings) is None
    failed = store.submission(submission_id)
    assert failed.status == "failed" and "gave up after 3 attempts" in failed.error


def test_regrade_replaces_the_result_with_the_same_seed(store: Store, settings: ServiceSettings) -> None:
    submission_id = queued(store)
    lifecycle.record(store, lifecycle.claim(store, submission_id, live(store, "w"), settings), report(0), 0.1)
    seed = store.submission(submission_id).seed
    assert lifecycle.regrade(store, SentIds(), submission_id)
    assert store.result(submission_id).score == 0 and store.submission(submission_id).status == "queued"
    assert not lifecycle.regrade(store, SentIds(), submission_id)          # not finished: nothing to do
    lifecycle.record(store, lifecycle.claim(store, submission_id, live(store, "w"), settings), report(1), 0.1)
    assert store.result(submission_id).score == 1 and store.submission(submission_id).seed == seed
    assert results_of(store, submission_id) == 1


def test_a_regrade_that_fails_keeps_the_result_it_was_to_replace(store: Store, settings: ServiceSettings) -> None:
    submission_id = queued(store)
    lifecycle.record(store, lifecycle.claim(store, submission_id, live(store, "w"), settings), report(1), 0.1)
    lifecycle.regrade(store, SentIds(), submission_id)
    assert lifecycle.fail(store, lifecycle.claim(store, submission_id, live(store, "w"), settings), "grader broke")
    assert store.submission(submission_id).status == "failed" and store.result(submission_id).score == 1
    assert [(s.student, s.counted and s.counted.score) for s in store.standings(store.assignment("tiny"))] == [
        ("ann", 1), ("ben", None)]


def test_a_manual_grade_belongs_to_the_student_and_the_assignment(store: Store, settings: ServiceSettings) -> None:
    first, second, other = queued(store), queued(store), queued(store, "ben")
    store.set_manual_grade(first, 0, "copied essay")
    given = store.manual_grade(second)
    assert (given.grade.score, given.grade.comment, given.grade.submission_id) == (0, "copied essay", first)
    assert store.manual_grade(other) is None and set(store.manual_grades("tiny")) == {"ann"}
    store.set_manual_grade(second, 3, "rewritten")
    assert store.manual_grade(first).grade.submission_id == second and len(store.manual_grades("tiny")) == 1


def test_roster_issues_tokens_once_and_keeps_them(store: Store) -> None:
    again = store.import_roster("id,name,email\nann,Ann Smith,ann@example.org\ncho,Cho,cho@example.org\n")
    assert [(e.id, e.token is None) for e in again] == [("ann", True), ("cho", False)]
    assert store.student("ann").name == "Ann Smith"
    cho = next(e for e in again if e.id == "cho")
    assert principals.identify(store, cho.token) == principals.Principal("student", "cho")
    assert principals.identify(store, cho.token + "x") is None
    with pytest.raises(RosterError):
        store.import_roster("name,email\nX,x@example.org\n")


def test_results_follow_the_policy_latest_or_best(store: Store, settings: ServiceSettings) -> None:
    for score in (1, 0):
        submission_id = queued(store)
        lifecycle.record(store, lifecycle.claim(store, submission_id, live(store, "w"), settings), report(score), 0.1)
    tiny = store.assignment("tiny")
    assert [s.counted and s.counted.score for s in store.standings(tiny)] == [0, None]
    store.set_policy("tiny", "best")
    assert [s.counted and s.counted.score for s in store.standings(store.assignment("tiny"))] == [1, None]


def test_a_rendering_is_stored_whole_replaced_whole_and_goes_with_its_submission(store: Store) -> None:
    submission_id = queued(store)
    assert store.rendering(submission_id, "notebook") is None
    store.save_rendering(submission_id, "plot:training", "digest-1", '"<svg>one</svg>"')
    store.save_rendering(submission_id, "plot:training", "digest-2", '"<svg>two</svg>"')
    stored = store.rendering(submission_id, "plot:training")
    assert (stored.made_from, stored.body) == ("digest-2", '"<svg>two</svg>"')
    with store.sessions.begin() as s:
        s.execute(Submission.__table__.delete().where(Submission.id == submission_id))
    assert store.rendering(submission_id, "plot:training") is None


def test_a_listing_of_waiting_submissions_reads_the_queue_a_few_times_not_per_row(store: Store) -> None:
    """Positions and turns in a listing are the product's rules (queued earlier: ahead; the student's others
    queued, running or received no later: turns ahead), from a handful of queries whatever the number of rows
    (a client polling a class's listing must not hold the API's CPU)."""
    live(store, "w-1")
    for student in ("ann", "ben"):
        for _ in range(6):
            lifecycle.receive(store, student, "tiny", "t.ipynb", TINY_NOTEBOOK)
        lifecycle.take_turns(store, SentIds(), student, limit=2)   # 2 queued each, 4 waiting their turn
    rows = store.submissions(assignment="tiny")
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *rest: object) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        queue = status.QueueView(store, listing=True)
        listed = {s.id: status.submission_status(store, s, with_report=False, queue=queue) for s in rows}
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    for s in rows:
        if s.status == "queued":
            assert listed[s.id]["queue_position"] == sum(o.status == "queued" and o.queued_at < s.queued_at
                                                         for o in rows)
        if s.status == "received":
            assert listed[s.id]["turn"]["ahead"] == sum(
                o.student == s.student and o.id != s.id and (o.status == "queued" or o.received_at <= s.received_at)
                for o in rows)
    assert sorted(v["status"] for v in listed.values()) == ["queued"] * 4 + ["received"] * 8
    assert all(status.submission_status(store, s, with_report=False) == listed[s.id] for s in rows)   # one by one
    queries = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
    assert len(queries) <= 6, queries   # queued times, grading times, the clock, live workers, each student's turns
