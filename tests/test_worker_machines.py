"""Real `grader worker` processes joining a real service (PostgreSQL, redis-server, `grader serve --workers 0`):
a machine whose sandbox is broken says so and takes no task; a working one takes them, and staff see which."""

from __future__ import annotations

from pathlib import Path

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
