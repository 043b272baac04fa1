"""A long poll's wait (service/status_watch.py) on SQLite and PostgreSQL: woken by a status another process
writes to the records (no signal in this process's memory), bounded, and at most a share per user."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from service import assignments, bootstrap, lifecycle
from service.db import make_engine
from service.models import QUEUED
from service.settings import ServiceSettings
from service.status_watch import StatusWatch
from service.store import Store
from tests.service_parts import TINY_NOTEBOOK, empty


@pytest.fixture
def stores(module_database_url: str, module_assignments_dir: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store, ServiceSettings]]:
    """The API process's records and, on an engine of its own, a worker's."""
    settings = replace(ServiceSettings.from_env(), data_dir=tmp_path_factory.mktemp("var"),
                       database_url=module_database_url, assignments_dir=module_assignments_dir, broker_url=None)
    api = bootstrap.open_store(settings)
    empty(api)
    assignments.register(api, settings.assignments_dir)
    api.import_roster("id,name,email\nann,Ann,ann@example.org\n")
    worker = Store(make_engine(module_database_url))
    yield api, worker, settings
    api.engine.dispose()
    worker.engine.dispose()


def queued(store: Store) -> str:
    submission = lifecycle.receive(store, "ann", "tiny", "t.ipynb", TINY_NOTEBOOK)
    assert store.take_turns("ann", 10) == [submission.id]
    return submission.id


def test_a_wait_ends_when_another_process_writes_the_change(stores) -> None:
    api, worker, settings = stores
    submission = queued(api)

    async def scenario() -> tuple[str, str]:
        watch = StatusWatch(api, tick=0.05)
        waiting = asyncio.create_task(watch.wait(submission, "student:ann", QUEUED, timeout=60))
        await asyncio.sleep(0.3)
        assert not waiting.done()                                    # nothing changed: it holds
        claim = await asyncio.to_thread(lifecycle.claim, worker, submission,
                                        lifecycle.WorkerIdentity("elsewhere"), settings)
        assert claim is not None
        outcome = await asyncio.wait_for(waiting, 30)                # well before its 60 s bound
        return outcome, await watch.wait(submission, "student:ann", "running", timeout=0.2)

    assert asyncio.run(scenario()) == ("changed", "timeout")


def test_a_user_holds_at_most_its_share_of_waits(stores) -> None:
    api, _, _ = stores
    submission = queued(api)

    async def scenario() -> list[str]:
        watch = StatusWatch(api, tick=0.05, per_student=2)
        held = [asyncio.create_task(watch.wait(submission, "student:ann", QUEUED, timeout=1)) for _ in range(2)]
        await asyncio.sleep(0.1)
        refused = await watch.wait(submission, "student:ann", QUEUED, timeout=1)
        other = asyncio.create_task(watch.wait(submission, "instructor", QUEUED, timeout=0.3))
        return [refused, *await asyncio.gather(*held), await other]

    assert asyncio.run(scenario()) == ["busy", "timeout", "timeout", "timeout"]
