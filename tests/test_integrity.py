"""Nothing an instructor did is lost, whatever a student does: against a real `grader serve` with its own
redis-server and Celery worker, on SQLite and PostgreSQL (one stack per database for the module)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.service_parts import (
    INSTRUCTOR,
    TINY_NOTEBOOK,
    TINY_SPEC,
    Stack,
    database,
    running_stacks,
    service_env,
    submit,
    wait_until,
)

LIMIT = 10
WRONG_NOTEBOOK = TINY_NOTEBOOK.replace(b"/ y.shape[0]", b"* 2")


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Stack]]:
    """Per database kind: the API with the rate limit at 10 a minute, and one worker."""
    with running_stacks(tmp_path_factory.mktemp("integrity"), GRADER_SUBMISSIONS_PER_MINUTE=str(LIMIT)) as stack:
        yield stack


class InstructorPages:
    """The instructor's browser session without a browser: the signed cookie and the pages' CSRF token."""

    def __init__(self, stack: Stack) -> None:
        self.client = httpx.Client(base_url=stack.url, timeout=30)
        first = self.client.get("/signin")
        self.cookie = _session_cookie(first)
        signed = self.post("/signin", _csrf(first.text), token=INSTRUCTOR)
        assert signed.status_code == 303, signed.text
        self.cookie = _session_cookie(signed)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path, headers={"Cookie": self.cookie})

    def post(self, path: str, csrf: str, **fields: str) -> httpx.Response:
        return self.client.post(path, data={"csrf_token": csrf, **fields}, headers={"Cookie": self.cookie})

    def give_manual_grade(self, submission_id: str, score: float, comment: str) -> None:
        page = self.get(f"/instructor/submissions/{submission_id}")
        saved = self.post(f"/instructor/submissions/{submission_id}/manual", _csrf(page.text), score=f"{score:g}",
                          comment=comment)
        assert saved.status_code == 303, saved.text

    def gradebook(self, assignment: str) -> dict[str, dict[str, str]]:
        answer = self.get(f"/instructor/assignments/{assignment}/gradebook.csv")
        assert answer.status_code == 200, answer.text
        return {row["student_id"]: row for row in csv.DictReader(io.StringIO(answer.text))}


def _session_cookie(response: httpx.Response) -> str:
    """The `name=value` of the (Secure, so not replayed by httpx over http) session cookie just set."""
    return response.headers["set-cookie"].split(";", 1)[0]


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_resubmission_cannot_shed_a_manual_grade(stacks, kind: str) -> None:
    stack = stacks(kind)
    token = stack.roster(f"copier-{kind}")[f"copier-{kind}"]
    with stack.client(token) as client:
        first = submit(client, "tiny", "essay.ipynb", TINY_NOTEBOOK)
        stack.wait_finished(token, [first], timeout=60)
        pages = InstructorPages(stack)
        pages.give_manual_grade(first, 0, "copied essay")
        second = submit(client, "tiny", "essay-again.ipynb", TINY_NOTEBOOK)
        stack.wait_finished(token, [second], timeout=60)
        student_view = client.get(f"/api/submissions/{second}").json()
    row = pages.gradebook("tiny")[f"copier-{kind}"]
    assert row["submission"] == "essay-again.ipynb"                  # the new attempt counts ...
    assert (row["manual_score"], row["manual_comment"], row["manual_given_on"]) == ("0", "copied essay", first)
    assert float(row["total"]) == float(row["score"])                # ... with the grade it did not shed
    shown = pages.get(f"/instructor/submissions/{second}").text
    assert "given on an earlier attempt" in shown and "copied essay" in shown
    assert "given on an earlier attempt" in pages.get("/instructor/assignments/tiny").text
    assert student_view["status"] == "done"
    pages.give_manual_grade(second, 1, "rewritten")                  # graded again, on the attempt that counts
    row = pages.gradebook("tiny")[f"copier-{kind}"]
    assert (row["manual_score"], row["manual_given_on"]) == ("1", second)
    assert "given on an earlier attempt" not in pages.get(f"/instructor/submissions/{second}").text


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_regrade_keeps_the_result_until_its_replacement_is_recorded(stacks, kind: str, tmp_path: Path) -> None:
    stack = stacks(kind)
    token = stack.roster(f"regraded-{kind}")[f"regraded-{kind}"]
    with stack.client(token) as client:
        older = submit(client, "tiny", "older.ipynb", WRONG_NOTEBOOK)
        stack.wait_finished(token, [older], timeout=60)
        latest = submit(client, "tiny", "latest.ipynb", TINY_NOTEBOOK)
        stack.wait_finished(token, [latest], timeout=60)
    for worker in list(stack.workers):      # no worker: the regrade waits, and what the gradebook shows meanwhile
        stack.stop_worker(worker)
        stack.workers.remove(worker)
    with stack.client(INSTRUCTOR) as instructor:
        assert instructor.post(f"/api/submissions/{latest}/regrade").status_code == 202
        waiting = instructor.get(f"/api/submissions/{latest}").json()
        standing = _standing(instructor, f"regraded-{kind}")
    assert waiting["status"] == "queued" and waiting["report"]["score"] == 1
    assert (standing["submission"], standing["score"]) == (latest, 1)   # not the older attempt's 0

    empty = tmp_path / "no-assignments"             # a worker that cannot grade it: the regrade ends `failed`
    empty.mkdir()
    beside = ["--started-by-serve"] if stack.env["GRADER_DATABASE_URL"].startswith("sqlite") else []
    failing = stack.processes.start([sys.executable, "-m", "grader.cli", "worker", "--concurrency", "1", *beside],
                                    env={**stack.env, "GRADER_ASSIGNMENTS_DIR": str(empty)},
                                    log=stack.log_dir / "failing-worker.log")
    try:
        final = stack.wait_finished(INSTRUCTOR, [latest], timeout=90)[latest]
    finally:
        stack.stop_worker(failing)
    assert final["status"] == "failed" and "lacks assignment 'tiny'" in final["error"]
    assert final["report"]["score"] == 1
    with stack.client(INSTRUCTOR) as instructor:
        assert (_standing(instructor, f"regraded-{kind}")["submission"], ) == (latest, )
        stack.start_worker(concurrency=2)
        assert instructor.post(f"/api/submissions/{latest}/regrade").status_code == 202
        assert stack.wait_finished(INSTRUCTOR, [latest], timeout=60)[latest]["status"] == "done"
        assert _standing(instructor, f"regraded-{kind}")["score"] == 1


def _standing(instructor: httpx.Client, student: str) -> dict:
    rows = instructor.get("/api/assignments/tiny/results").json()["results"]
    return next(r for r in rows if r["student"] == student)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_thirty_parallel_uploads_from_one_student_get_exactly_the_limit(stacks, kind: str) -> None:
    stack = stacks(kind)
    token = stack.roster(f"flood-{kind}")[f"flood-{kind}"]

    def upload(i: int) -> int:
        with stack.client(token) as client:
            return client.post("/api/assignments/tiny/submissions",
                               files={"file": (f"hw{i}.ipynb", TINY_NOTEBOOK, "application/x-ipynb+json")}).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        codes = list(pool.map(upload, range(30)))
    assert sorted(codes).count(202) == LIMIT and codes.count(429) == 30 - LIMIT
    with stack.client(INSTRUCTOR) as instructor:
        stored = instructor.get("/api/submissions", params={"student": f"flood-{kind}"}).json()["submissions"]
    assert len(stored) == LIMIT


def test_refused_uploads_count_toward_the_rate_limit(stacks) -> None:
    stack = stacks("sqlite")
    token = stack.roster("prober")["prober"]
    with stack.client(token) as client:
        refused = [client.post("/api/assignments/tiny/submissions",
                               files={"file": ("probe.ipynb", b"{not json", "application/x-ipynb+json")}).status_code
                   for _ in range(LIMIT)]
        after = client.post("/api/assignments/tiny/submissions",
                            files={"file": ("hw.ipynb", TINY_NOTEBOOK, "application/x-ipynb+json")})
    assert refused == [422] * LIMIT
    assert after.status_code == 429 and 1 <= int(after.headers["Retry-After"]) <= 60


def test_a_requeue_deadline_shorter_than_a_grading_is_refused_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "assignments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(TINY_SPEC)       # wall_seconds 20: a grading may take 40 s
    env = service_env(tmp_path / "var", f"sqlite:///{tmp_path / 'g.sqlite3'}", "redis://127.0.0.1:1/0",
                      folder.parent, GRADER_REQUEUE_AFTER="30")
    no_broker = {k: v for k, v in env.items() if k != "GRADER_BROKER_URL"}    # serve would start its own
    # the API side writes the deadline into the shared configuration: a worker reads it from there, not its own
    for command, environ in ((["serve", "--no-demo", "--workers", "0"], no_broker), (["migrate"], env)):
        done = subprocess.run([sys.executable, "-m", "grader.cli", *command], env=environ, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert "GRADER_REQUEUE_AFTER=30 is shorter than 40 s" in done.stderr
        assert "Set it to at least 40" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "var" / "redis").exists()          # refused before anything was started


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_manual_grades_given_per_submission_move_to_their_student_and_assignment(kind: str, tmp_path: Path) -> None:
    from sqlalchemy import text

    from service.db import make_engine, migrate

    with database(kind, tmp_path) as url:
        engine = make_engine(url)
        migrate(engine, "0002")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO assignments VALUES ('tiny', 'Tiny', 1, '[]', 'latest')"))
            conn.execute(text("INSERT INTO students VALUES ('ann', 'Ann', '', 'h1'), ('ben', 'Ben', '', 'h2')"))
            for sid, student, day in (("s1", "ann", 1), ("s2", "ann", 2), ("s3", "ben", 1)):
                conn.execute(text("INSERT INTO submissions (id, assignment, student, filename, notebook, sha256, seed, "
                                  "status, received_at, attempts) VALUES (:id, 'tiny', :st, 'a.ipynb', :nb, '', 1, "
                                  "'done', :at, 1)"), {"id": sid, "st": student, "nb": b"{}", "at": f"2026-01-0{day}"})
            conn.execute(text("INSERT INTO manual_grades VALUES ('s1', 0, 'copied essay', '2026-01-05'), "
                              "('s2', 4, 'later word', '2026-01-06'), ('s3', 2, '', '2026-01-02')"))
        migrate(engine)
        with engine.connect() as conn:
            moved = conn.execute(text("SELECT student, submission_id, score, comment FROM manual_grades "
                                      "ORDER BY student")).all()
        engine.dispose()
    assert [tuple(r) for r in moved] == [("ann", "s2", 4, "later word"), ("ben", "s3", 2, "")]


HANGING_NOTEBOOK = TINY_NOTEBOOK.replace(b"    if y.ndim == 1:",      # in the notebook's JSON: "\\n" is a newline
                                         b"    while True:\\n        pass\\n    if y.ndim == 1:")


def test_a_student_with_hanging_notebooks_holds_two_slots_and_others_take_turns(stacks) -> None:
    stack = stacks("sqlite")
    tokens = stack.roster("hanger", "honest")
    with stack.client(tokens["hanger"]) as hanger:
        answers = [hanger.post("/api/assignments/tiny/submissions",
                               files={"file": (f"loop{i}.ipynb", HANGING_NOTEBOOK, "application/x-ipynb+json")})
                   for i in range(4)]
    assert [a.status_code for a in answers] == [202] * 4
    bodies = [a.json() for a in answers]
    assert [b["status"] for b in bodies] == ["queued"] * 2 + ["received"] * 2
    assert [b["turn"] and b["turn"]["ahead"] for b in bodies] == [None, None, 2, 3]
    pages = InstructorPages(stack)
    assert "waiting its turn: 3 of your submissions before it" in pages.get(f"/submissions/{bodies[-1]['id']}").text
    with stack.client(tokens["honest"]) as honest:
        mine = submit(honest, "tiny", "hw.ipynb", TINY_NOTEBOOK)
    hanging = [b["id"] for b in bodies]
    active_seen = 0
    with stack.client(INSTRUCTOR) as instructor:
        def finished() -> bool:
            nonlocal active_seen
            listed = instructor.get("/api/submissions", params={"student": "hanger"}).json()["submissions"]
            active_seen = max(active_seen, sum(s["status"] in ("queued", "running") for s in listed))
            return all(s["status"] in ("done", "failed") for s in listed)
        wait_until(finished, 180, "the hanging notebooks to be graded", every=0.3)
    final = stack.wait_finished(INSTRUCTOR, [*hanging, mine], timeout=60)
    assert active_seen <= 2
    honest_queued, honest_started = final[mine]["phases"]["queued"], final[mine]["phases"]["started"]
    # ahead of it: those started before it that still held a place when it was queued (on a loaded machine a
    # hanging one may finish, and the next take its slot, before the honest one is even queued)
    phases = [final[i]["phases"] for i in hanging]
    before_honest = sum(p["started"] < honest_started and p["finished"] > honest_queued for p in phases)
    assert before_honest <= 2, f"{before_honest} hanging notebooks were graded ahead of the honest one"
    waited = _seconds(final[mine]["phases"]["received"], honest_started)
    hang = _seconds(final[hanging[0]]["phases"]["started"], final[hanging[0]]["phases"]["finished"])
    print(f"\nhonest notebook waited {waited:.1f} s behind 4 hanging ones ({hang:.1f} s each, 2 slots); "
          f"{before_honest} of them started before it, at most {active_seen} of theirs queued or running at once")
    assert final[mine]["report"]["score"] == 1


def _seconds(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
