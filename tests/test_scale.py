"""Scale-out that is true, on SQLite and PostgreSQL: every machine grades with the shared configuration, a worker
serves only the assignment versions registered, a broken machine's grading goes back to the queue instead of
becoming a zero, and staff see which worker graded what."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from grader import pipeline, trajectory
from grader.config import Settings
from service import assignments, bootstrap, lifecycle, shared, status
from service.db import make_engine, unmigrated
from service.settings import ServiceSettings
from service.store import Store
from tests.service_parts import TINY_SPEC, database, empty, live, make_assignments_dir
from tests.test_service_store import SentIds, queued


@pytest.fixture(scope="module")
def api(module_database_url: str, module_assignments_dir: Path,
        tmp_path_factory: pytest.TempPathFactory) -> ServiceSettings:
    """The API machine's settings: its own cache (and so its own local training key)."""
    base = ServiceSettings.from_env()
    cache = tmp_path_factory.mktemp("api-cache")
    return replace(base, data_dir=tmp_path_factory.mktemp("var"), database_url=module_database_url,
                   assignments_dir=module_assignments_dir, broker_url=None, requeue_after=300, max_attempts=2,
                   web_secret=None, grader=replace(base.grader, cache_dir=cache, training_key=None))


@pytest.fixture
def store(api: ServiceSettings) -> Iterator[Store]:
    opened = bootstrap.open_store(api)
    empty(opened, keep=("alembic_version",))
    assignments.register(opened, api.assignments_dir)
    opened.import_roster("id,name,email\nann,Ann,ann@example.org\n")
    yield opened
    opened.engine.dispose()


def another_machine(settings: ServiceSettings, tmp_path: Path, **env: str) -> ServiceSettings:
    """What a worker machine reads from its own environment: its own cache, other limits, its own key."""
    grader = replace(settings.grader, cache_dir=tmp_path / "worker-cache", training_key=None, max_notebook_bytes=1)
    return replace(settings, grader=grader, max_attempts=99, requeue_after=1.0, web_secret="its-own")


def test_a_worker_grades_with_the_api_sides_key_and_limits_not_its_own(store: Store, api: ServiceSettings,
                                                                         tmp_path: Path) -> None:
    published = shared.publish(store, api)
    assert published.grader.training_key == trajectory.training_key(api.grader)  # the API machine's CLI agrees
    worker_local = another_machine(api, tmp_path)
    assert trajectory.training_key(worker_local.grader) != published.grader.training_key
    adopted = shared.adopt(store, worker_local)
    assert adopted.grader.training_key == published.grader.training_key
    assert (adopted.max_attempts, adopted.requeue_after, adopted.web_secret, adopted.grader.max_notebook_bytes) == \
        (api.max_attempts, api.requeue_after, published.web_secret, api.grader.max_notebook_bytes)
    assert shared.publish(store, api).grader.training_key == published.grader.training_key   # kept at restart
    chosen = replace(api, grader=replace(api.grader, training_key=42), web_secret="chosen")
    assert shared.adopt(store, shared.publish(store, chosen)).grader.training_key == 42
    assert bootstrap.cookie_key(shared.adopt(store, worker_local)) == bootstrap.cookie_key(chosen)


def test_the_accuracy_units_report_is_the_same_from_any_machine(store: Store, api: ServiceSettings,
                                                                 tmp_path: Path) -> None:
    """The training probe's expected curve and the measured accuracy come from the shared key."""
    backprop = assignments.specs(api.assignments_dir)["backprop"]
    accuracy = replace(backprop, units={"accuracy": backprop.units["accuracy"]})
    solution = (backprop.directory / "solution.ipynb").read_bytes()
    key = shared.publish(store, api).grader.training_key
    on_api = pipeline.grade_bytes(solution, "s.ipynb", accuracy, replace(api.grader, training_key=key), seed=7)
    worker = shared.adopt(store, another_machine(api, tmp_path))
    on_worker = pipeline.grade_bytes(solution, "s.ipynb", accuracy, replace(worker.grader, max_notebook_bytes=1 << 22),
                                     seed=7)
    assert (on_api.units, on_api.training) == (on_worker.units, on_worker.training)


def test_a_worker_without_the_shared_configuration_refuses(store: Store, api: ServiceSettings) -> None:
    with pytest.raises(SystemExit, match="grader migrate"):
        shared.adopt(store, api)


def test_a_worker_refuses_an_assignment_it_has_in_another_version(store: Store, api: ServiceSettings,
                                                                   tmp_path: Path) -> None:
    stale_clone = make_assignments_dir(tmp_path)
    (stale_clone / "tiny" / "assignment.toml").write_text(TINY_SPEC.replace("One cheap unit", "An old title"))
    serves, refused = assignments.served(store, stale_clone)
    assert serves == ["backprop"] and "tiny" in refused
    settings = shared.adopt(store, replace(shared.publish(store, api), assignments_dir=stale_clone))
    publisher = SentIds()
    alone = queued(store)
    assert lifecycle.grade(store, publisher, settings, alone, live(store, "stale")) == "failed"
    assert "lacks assignment 'tiny'" in store.submission(alone).error and store.result(alone) is None
    store.heartbeat("current", 1, "elsewhere", 1, "another-kernel", ["backprop", "tiny"])
    other = queued(store)
    assert lifecycle.grade(store, publisher, settings, other, live(store, "stale")) == "passed on"
    assert store.submission(other).status == "queued" and store.submission(other).attempts == 0
    assert publisher.sent == [other]
    assert store.assignment("tiny").title == "One cheap unit, for queue tests"     # the worker wrote nothing


def test_a_grading_the_sandbox_broke_goes_back_to_the_queue_then_fails_never_a_zero(
        store: Store, api: ServiceSettings, tmp_path: Path) -> None:
    broken_dir = tmp_path / "not-a-directory"
    broken_dir.write_text("")
    settings = shared.publish(store, api)
    broken = replace(settings, grader=replace(settings.grader, sandbox_dir=broken_dir, unsafe_no_sandbox=False))
    submission_id, publisher = queued(store), SentIds()
    assert lifecycle.grade(store, publisher, broken, submission_id, live(store, "broken")) == lifecycle.RETURNED
    returned = store.submission(submission_id)
    assert (returned.status, store.result(submission_id)) == ("queued", None) and "grader fault" in returned.error
    assert publisher.sent == [submission_id]
    assert lifecycle.grade(store, publisher, broken, submission_id, live(store, "broken")) == lifecycle.GAVE_UP
    assert store.result(submission_id) is None and "grader fault" in store.submission(submission_id).error


def test_staff_see_which_worker_graded_a_submission(store: Store, api: ServiceSettings) -> None:
    settings = shared.publish(store, api)
    submission_id = queued(store)
    assert lifecycle.grade(store, SentIds(), settings, submission_id, live(store, "w-1")) == "done"
    sub = store.submission(submission_id)
    assert status.submission_status(store, sub, staff=True)["graded_by"] == {"worker_id": "w-1",
                                                                          "host": os.uname().nodename}
    assert "graded_by" not in status.submission_status(store, sub)




# --- `grader worker` at start -----------------------------------------------------------------------------

def worker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_") or k == "GRADER_CACHE_DIR"}
    return subprocess.run([sys.executable, "-m", "grader.cli", "worker", *args], env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_grader_worker_refuses_without_an_explicit_database_or_with_another_machines_sqlite(tmp_path: Path) -> None:
    broker = {"GRADER_BROKER_URL": "redis://127.0.0.1:1/0"}
    assert "GRADER_DATABASE_URL" in worker(broker).stderr
    sqlite = worker({**broker, "GRADER_DATABASE_URL": f"sqlite:///{tmp_path / 'g.sqlite3'}"})
    assert sqlite.returncode != 0 and "only the `grader serve` on this machine" in sqlite.stderr


def test_grader_worker_refuses_a_database_the_api_side_has_not_migrated(tmp_path: Path) -> None:
    with database("postgresql", tmp_path) as url:
        assert unmigrated(make_engine(url)) is not None
        done = worker({"GRADER_BROKER_URL": "redis://127.0.0.1:1/0", "GRADER_DATABASE_URL": url})
        assert done.returncode != 0 and "run `grader migrate` on the API side" in done.stderr
        assert subprocess.run([sys.executable, "-m", "grader.cli", "migrate"], env={**os.environ,
                              "GRADER_DATABASE_URL": url}, capture_output=True).returncode == 0
        assert unmigrated(make_engine(url)) is None


def test_the_solution_probe_passes_here_and_fails_with_a_broken_sandbox(tmp_path: Path) -> None:
    from grader import selfcheck, spec

    backprop, settings = spec.load("backprop"), Settings.from_env()
    assert selfcheck.problem(backprop, settings) is None
    broken = tmp_path / "file"
    broken.write_text("")
    assert "probe failed" in selfcheck.problem(backprop, replace(settings, sandbox_dir=broken))



def test_the_reconciler_resends_only_what_the_broker_lost(store: Store, api: ServiceSettings, tmp_path: Path) -> None:
    from sqlalchemy import update

    from service.models import Submission
    from service.queue import CeleryPublisher, celery_app
    from tests.service_parts import RedisServer

    redis = RedisServer(tmp_path / "redis")
    try:
        publisher = CeleryPublisher(celery_app(replace(api, broker_url=redis.url)))
        long_queue, lost = queued(store), queued(store)
        publisher.send(long_queue)                  # still in the broker's queue; `lost`'s message is gone
        with store.sessions.begin() as s:
            s.execute(update(Submission).values(queued_at=store.clock() - timedelta(seconds=api.requeue_after + 1)))
        assert publisher.waiting() == {long_queue}
        assert lifecycle.reconcile(store, publisher, api.requeue_after, limit=2) == [lost]
        assert publisher.waiting() == {long_queue, lost} and publisher.depth() == 2    # before: 3, one a duplicate
    finally:
        redis.stop()
