"""The service with all its real parts: `grader serve`, `grader worker` processes, Redis, SQLite/PostgreSQL.

Queue tests use the `tiny` assignment (one cheap unit); the comparison with the CLI and the worker
killed mid-grading use the real backprop assignment.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from grader import cli
from grader.config import ASSIGNMENTS_DIR
from service.models import Result, Submission
from tests.service_parts import INSTRUCTOR, TINY_NOTEBOOK, Stack, submit, wait_until

EXAMPLES = sorted((ASSIGNMENTS_DIR / "backprop" / "examples").glob("*.ipynb"))


def graded_once(stack: Stack, ids: list[str], single_attempt: bool = True) -> None:
    """Every submission done, with exactly one result (and, unless the reconciler had to step in, from one
    grading attempt: none was graded twice)."""
    store = stack.store()
    with store.sessions() as s:
        rows = s.execute(select(Submission.id, Submission.status, Submission.attempts).where(
            Submission.id.in_(ids))).all()
        results = dict(s.execute(select(Result.submission_id, func.count()).group_by(Result.submission_id)).all())
    store.engine.dispose()
    assert len(rows) == len(ids)
    assert {status for _, status, _ in rows} == {"done"}
    if single_attempt:
        assert all(attempts == 1 for _, _, attempts in rows), "a submission was graded more than once"
    assert all(results.get(i) == 1 for i in ids) and sum(results.values()) == len(ids)


def test_reports_through_the_api_are_the_clis_for_the_same_notebook_and_seed(stack_factory, tmp_path: Path,
                                                                              ) -> None:
    stack = stack_factory(f"sqlite:///{tmp_path / 'e2e.sqlite3'}")
    stack.start_worker(concurrency=2)
    token = stack.roster("ann")["ann"]
    with stack.client(token) as client:
        ids = {submit(client, "backprop", path.name, path.read_bytes()): path for path in EXAMPLES}
    final = stack.wait_finished(token, list(ids), timeout=120)
    for submission_id, path in ids.items():
        report = final[submission_id]["report"]
        out = tmp_path / f"{path.stem}.json"
        assert cli.main(["grade", "--assignment", "backprop", "--seed", str(report["seed"]), "--format", "json",
                         "--out", str(out), str(path)]) == 0
        expected = json.loads(out.read_text())[0]
        assert report["submission"] == path.name
        for key in ("submission", "timings"):
            report.pop(key), expected.pop(key)
        assert report == expected, path.name
    first = next(iter(ids))
    with stack.client(INSTRUCTOR) as client:
        assert client.post(f"/api/submissions/{first}/regrade").status_code == 202
    regraded = stack.wait_finished(token, [first], timeout=60)[first]["report"]
    assert {k: v for k, v in regraded.items() if k not in ("submission", "timings")} == \
        {k: v for k, v in final[first]["report"].items() if k not in ("submission", "timings")}
    with stack.client(INSTRUCTOR) as client:
        table = list(csv.reader(io.StringIO(client.get("/api/assignments/backprop/results.csv").text)))
    assert table[0][:7] == ["student_id", "student_name", "submission", "score", "max_score", "seed", "error"]
    assert len(table) == 2 and table[1][0] == "ann"          # one row per student: the latest submission
    assert token not in stack.logs() and INSTRUCTOR not in stack.logs()


def test_a_worker_killed_while_grading_costs_a_delay_not_a_result(stack_factory, postgres_url: str) -> None:
    stack = stack_factory(postgres_url)       # the reconciler's deadline (600 s) is far: recovery must not need it
    stack.start_worker(concurrency=1)
    token = stack.roster("ann")["ann"]
    notebook = EXAMPLES[0].read_bytes()
    store = stack.store()
    for _ in range(3):      # the kill must land while grading: retry in the rare case grading won the race
        with stack.client(token) as client:
            submission_id = submit(client, "backprop", "hw.ipynb", notebook)
        wait_until(lambda sid=submission_id: store.submission(sid).status != "queued", 60, "grading to start",
                   every=0.02)
        running = store.submission(submission_id)
        if running.status != "running":
            continue
        os.kill(int(running.worker.rsplit(":", 1)[1]), signal.SIGKILL)
        final = stack.wait_finished(token, [submission_id], timeout=90)[submission_id]
        assert final["status"] == "done" and final["report"]["score"] == final["report"]["max_score"]
        assert store.submission(submission_id).attempts == 2
        with store.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Result).where(
                Result.submission_id == submission_id)) == 1
        break
    else:
        pytest.fail("grading always finished before the worker could be killed")
    store.engine.dispose()


@pytest.mark.parametrize("mishap", ["restart", "flush"])
def test_redis_restarted_or_flushed_while_submissions_wait_loses_none(stack_factory, redis_server, tmp_path: Path,
                                                                     mishap: str) -> None:
    # after a restart the append-only file still holds the queue; after a flush only the reconciler can help
    stack = stack_factory(f"sqlite:///{tmp_path / 'q.sqlite3'}", **({"GRADER_REQUEUE_AFTER": "4"}
                                                                 if mishap == "flush" else {}))
    token = stack.roster("ann")["ann"]
    with stack.client(token) as client:
        ids = [submit(client, "tiny", f"hw{i}.ipynb", TINY_NOTEBOOK) for i in range(8)]
    if mishap == "restart":
        redis_server.restart()
    else:
        redis_server.flush()
    stack.start_worker(concurrency=2)
    stack.wait_finished(token, ids, timeout=90)
    graded_once(stack, ids, single_attempt=mishap == "restart")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_hundred_submissions_from_twenty_clients_are_each_graded_once(stack_factory, request, tmp_path: Path,
                                                                        database: str) -> None:
    url = f"sqlite:///{tmp_path / 'burst.sqlite3'}" if database == "sqlite" else request.getfixturevalue(
        "postgres_url")
    stack = stack_factory(url)
    stack.start_worker(concurrency=2)
    tokens = stack.roster(*(f"s{i:02}" for i in range(20)))

    def client_posts(token: str) -> list[str]:
        with stack.client(token) as client:
            return [submit(client, "tiny", f"hw{i}.ipynb", TINY_NOTEBOOK) for i in range(5)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = [i for batch in pool.map(client_posts, tokens.values()) for i in batch]
    assert len(set(ids)) == 100
    stack.wait_finished(INSTRUCTOR, ids, timeout=150)
    graded_once(stack, ids)
    with stack.client(INSTRUCTOR) as client:
        metrics = client.get("/metrics").text
        results = client.get("/api/assignments/tiny/results").json()["results"]
        health = client.get("/healthz")
    assert 'grader_submissions{status="done"} 100' in metrics and "grader_grading_seconds_count 100" in metrics
    assert len(results) == 20 and all(r["score"] == 1 for r in results)
    assert health.status_code == 200 and health.json()["workers"] == 1
    assert not [t for t in tokens.values() if t in stack.logs()]
