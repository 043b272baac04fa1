"""Real `grader worker` processes joining a real service (PostgreSQL, redis-server, `grader serve --workers 0`):
a machine whose sandbox is broken says so and takes no task; a working one takes them, and staff see which."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service_parts import INSTRUCTOR, TINY_NOTEBOOK, Stack, submit, wait_until
from tests.test_sessions import Visitor


def instructor_page(stack: Stack, path: str) -> str:
    """A page as the instructor's browser gets it, signed in through the form."""
    browser = Visitor(stack)
    assert browser.sign_in(INSTRUCTOR).status_code == 303
    return browser.request("GET", path).text


def test_a_worker_with_a_broken_sandbox_takes_no_task_and_a_working_one_grades_it(stack_factory, postgres_url: str,
                                                                                   tmp_path: Path) -> None:
    stack = stack_factory(postgres_url)
    broken_dir = tmp_path / "not-a-directory"
    broken_dir.write_text("")
    good_env = stack.env
    stack.env = {**good_env, "GRADER_SANDBOX_DIR": str(broken_dir)}
    stack.start_worker(concurrency=1)
    store = stack.store()
    broken = next(w for w in store.live_workers())
    assert broken.concurrency == 0 and broken.state.startswith("not taking tasks: backprop")
    token = stack.roster("ann")["ann"]
    with stack.client(token) as client:
        waiting = submit(client, "tiny", "t.ipynb", TINY_NOTEBOOK)
    with stack.client(INSTRUCTOR) as instructor:
        assert instructor.get("/healthz").json()["workers"] == 0
        assert store.submission(waiting).status == "queued"     # nothing took it
        stack.env = good_env
        stack.start_worker(concurrency=1)
        final = stack.wait_finished(token, [waiting], timeout=180)[waiting]
        assert final["status"] == "done" and final["report"]["score"] == 1
        graded_by = instructor.get(f"/api/submissions/{waiting}").json()["graded_by"]
        wait_until(lambda: instructor.get("/healthz").json()["workers"] == 1, 30, "the working worker counted")
        page = instructor_page(stack, f"/instructor/submissions/{waiting}")
    good = next(w for w in store.live_workers() if w.name != broken.name)
    assert graded_by == {"worker_id": good.name, "host": good.host} and good.state == "ready"
    assert good.serves == ["backprop", "tiny"] and f'<code>{good.name}</code> ({good.host})' in page
    with stack.client(token) as client:
        assert "graded_by" not in client.get(f"/api/submissions/{waiting}").json()
    store.engine.dispose()


@pytest.fixture
def sandbox_home() -> Iterator[Path]:
    """A sandbox folder of its own that the sandbox's users can pass through (pytest's tmp_path is the root's)."""
    home = Path(tempfile.mkdtemp(prefix="nn-grader-test-", dir="/tmp"))
    home.chmod(0o755)
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_worker_whose_sandbox_breaks_mid_run_stops_taking_tasks_until_it_works_again(
        stack_factory, postgres_url: str, sandbox_home: Path) -> None:
    stack = stack_factory(postgres_url)
    sandbox, kept = sandbox_home / "sandbox", sandbox_home / "kept"
    stack.env = {**stack.env, "GRADER_SANDBOX_DIR": str(sandbox)}
    stack.start_worker(concurrency=1)
    store, token = stack.store(), stack.roster("ann")["ann"]
    with stack.client(token) as client:
        first = submit(client, "tiny", "t.ipynb", TINY_NOTEBOOK)
        assert stack.wait_finished(token, [first], timeout=180)[first]["status"] == "done"
        sandbox.rename(kept)
        sandbox.write_text("")          # the sandbox's folder is gone: nothing can be staged or leased there
        second = submit(client, "tiny", "t.ipynb", TINY_NOTEBOOK)
        wait_until(lambda: store.live_workers()[0].state.startswith("not taking tasks: "), 60, "the suspension")
        assert store.live_workers()[0].concurrency == 0
        wait_until(lambda: store.submission(second).status == "queued", 30, "the grading handed back")
        handed_back = store.submission(second)
        assert handed_back.attempts == 1 and "grader fault" in handed_back.error
        time.sleep(3)                   # a consuming worker would have taken it again at once
        assert store.submission(second).attempts == 1      # before: taken again, and failed after its attempts
        sandbox.unlink()
        kept.rename(sandbox)
        final = stack.wait_finished(token, [second], timeout=120)[second]
    assert final["status"] == "done" and final["report"]["score"] == 1
    assert store.live_workers()[0].state == "ready"
    store.engine.dispose()
