"""The service with all its real parts: `grader serve`, `grader worker` processes, Redis, SQLite/PostgreSQL.

Queue tests use the `tiny` assignment (one cheap unit); the comparison with the CLI and the worker
killed mid-grading use the real backprop assignment. Tests that need a service of their own (Redis
stopped or flushed under them) start one; the others share a running stack per database.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from grader import spec
from grader.config import ASSIGNMENTS_DIR
from service.models import Result, Submission
from tests.service_parts import INSTRUCTOR, TINY_NOTEBOOK, TINY_SPEC, Stack, submit, wait_until
from tests.verdicts import differences

EXAMPLES = sorted((ASSIGNMENTS_DIR / "backprop" / "examples").glob("*.ipynb"))
# the comparison's sample: each of the four report languages, full marks with IPython magics, a failed import,
# two diagnoses in one unit, and a diagnosis read from the training run (its key is the API machine's);
# every example's verdict itself is tests/test_assignment.py's, and the demo course grades them all in the service
COMPARED = [path for path in EXAMPLES if path.name.split("_")[0] in {"02", "04", "06", "09", "10", "20"}]


def graded_once(stack: Stack, ids: list[str], single_attempt: bool = True) -> None:
    """Every submission done, with exactly one result (and, unless the reconciler had to step in, from one
    grading attempt: none was graded twice)."""
    store = stack.store()
    with store.sessions() as s:
        rows = s.execute(select(Submission.id, Submission.status, Submission.attempts).where(
            Submission.id.in_(ids))).all()
        results = dict(s.execute(select(Result.submission_id, func.count()).where(Result.submission_id.in_(ids))
                                 .group_by(Result.submission_id)).all())
    store.engine.dispose()
    assert len(rows) == len(ids)
    assert {status for _, status, _ in rows} == {"done"}
    if single_attempt:
        assert all(attempts == 1 for _, _, attempts in rows), "a submission was graded more than once"
    assert all(results.get(i) == 1 for i in ids) and sum(results.values()) == len(ids)


def cli_report(path: Path, seed: int, out: Path) -> dict:
    """`grader grade --format json` for one notebook with the given seed, as an operator runs it."""
    done = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "--assignment", "backprop", "--seed",
                           str(seed), "--format", "json", "--out", str(out), str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text())[0]


def test_reports_through_the_api_are_the_clis_for_the_same_notebook_and_seed(shared_stacks, tmp_path: Path) -> None:
    stack = shared_stacks("sqlite")
    token = stack.roster("cli-ann")["cli-ann"]
    with stack.client(token) as client:
        ids = {submit(client, "backprop", path.name, path.read_bytes()): path for path in COMPARED}
    final = stack.wait_finished(token, list(ids), timeout=120)
    with ThreadPoolExecutor(max_workers=2) as pool:    # the machine's two cores, as the service's worker
        expected = dict(zip(ids, pool.map(lambda item: cli_report(item[1], final[item[0]]["report"]["seed"],
                                                                  tmp_path / f"{item[1].stem}.json"), ids.items()),
                            strict=True))
    for submission_id, path in ids.items():
        report, cli = final[submission_id]["report"], expected[submission_id]
        assert report["submission"] == path.name
        for key in ("submission", "timings"):
            report.pop(key), cli.pop(key)
        assert report == cli, f"{path.name}: {differences(report, cli)}"
    first = next(iter(ids))
    with stack.client(INSTRUCTOR) as client:
        assert client.post(f"/api/submissions/{first}/regrade").status_code == 202
    regraded = stack.wait_finished(token, [first], timeout=60)[first]["report"]
    assert {k: v for k, v in regraded.items() if k not in ("submission", "timings")} == \
        {k: v for k, v in final[first]["report"].items() if k not in ("submission", "timings")}
    with stack.client(INSTRUCTOR) as client:
        table = list(csv.reader(io.StringIO(client.get("/api/assignments/backprop/results.csv").text)))
    assert table[0][:7] == ["student_id", "student_name", "submission", "score", "max_score", "seed", "error"]
    graded = [row[0] for row in table[1:] if row[table[0].index("status")] == "graded"]
    assert graded == ["cli-ann"]          # one row per student on the roster; the latest submission counts
    assert token not in stack.logs() and INSTRUCTOR not in stack.logs()


def test_each_assignments_solution_uploaded_through_the_api_scores_full_marks(shared_stacks) -> None:
    """The service grades every shipped assignment with no code of its own for it: the solution's report
    and its row in the results CSV."""
    stack = shared_stacks("sqlite")
    token = stack.roster("sol-sam")["sol-sam"]
    names = spec.available()
    with stack.client(token) as client:
        ids = {submit(client, name, "solution.ipynb", (ASSIGNMENTS_DIR / name / "solution.ipynb").read_bytes()): name
               for name in names}
    final = stack.wait_finished(token, list(ids), timeout=120)
    for submission_id, name in ids.items():
        report = final[submission_id]["report"]
        assert report["assignment"] == name and report["error"] is None
        assert report["score"] == report["max_score"] == spec.load(name).max_score, name
    with stack.client(INSTRUCTOR) as client:
        for name in names:
            table = list(csv.reader(io.StringIO(client.get(f"/api/assignments/{name}/results.csv").text)))
            row = next(r for r in table[1:] if r[0] == "sol-sam")
            assert float(row[table[0].index("score")]) == spec.load(name).max_score, name


def test_a_worker_killed_while_grading_costs_a_delay_not_a_result(shared_stacks) -> None:
    stack = shared_stacks("postgresql")       # the reconciler's deadline (600 s) is far: recovery must not need it
    token = stack.roster("killed-ann")["killed-ann"]
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
    # after a restart the append-only file still holds the queue; after a flush only the reconciler can help,
    # after the longest a grading may take (assignments whose wall limit is 5 s: 10 s)
    quick = tmp_path / "quick" / "tiny"
    quick.mkdir(parents=True)
    (quick / "assignment.toml").write_text(TINY_SPEC.replace("wall_seconds = 20", "wall_seconds = 5"))
    stack = stack_factory(f"sqlite:///{tmp_path / 'q.sqlite3'}", **({"GRADER_REQUEUE_AFTER": "10",
                                                                   "GRADER_ASSIGNMENTS_DIR": str(quick.parent)}
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


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of the /metrics text, read with prometheus-client's own parser."""
    return next(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
                if sample.name == name and sample.labels == labels)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_hundred_submissions_from_twenty_clients_are_each_graded_once(shared_stacks, database: str) -> None:
    stack = shared_stacks(database)
    tokens = stack.roster(*(f"s{i:02}" for i in range(20)))
    with stack.client(INSTRUCTOR) as client:
        before = client.get("/metrics").text

    def client_posts(token: str) -> list[str]:
        with stack.client(token) as client:
            return [submit(client, "tiny", f"hw{i}.ipynb", TINY_NOTEBOOK) for i in range(5)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = [i for batch in pool.map(client_posts, tokens.values()) for i in batch]
    assert len(set(ids)) == 100
    stack.wait_finished(INSTRUCTOR, ids, timeout=150)
    graded_once(stack, ids)
    with stack.client(INSTRUCTOR) as client:
        after = client.get("/metrics").text
        results = client.get("/api/assignments/tiny/results").json()["results"]
        health = client.get("/healthz")
    for name, labels in (("grader_submissions", {"status": "done"}), ("grader_grading_seconds_count", {})):
        assert metric(after, name, **labels) - metric(before, name, **labels) == 100, name
    assert metric(after, "grader_submissions", status="queued") == 0 and metric(after, "grader_worker_slots") == 2
    mine = {r["student"]: r for r in results if r["student"] in tokens}   # other tests' students share the service
    assert {r["status"] for r in mine.values()} == {"graded"} and len(mine) == 20
    assert all(r["score"] == 1 for r in mine.values())
    assert health.status_code == 200 and health.json()["workers"] == 1
    assert not [t for t in tokens.values() if t in stack.logs()]
