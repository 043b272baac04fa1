"""Real parts for the service tests: a private redis-server, a PostgreSQL database or SQLite file,
`grader serve` and `grader worker` processes. Every fixture stops what it started, even on failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

from grader import spec
from grader.config import ASSIGNMENTS_DIR
from service import lifecycle
from service.models import Base
from service.processes import Processes, free_port, start_redis
from service.settings import ServiceSettings
from service.store import Store
from tests.conftest import require_program, require_service
from tests.notebooks import notebook_bytes

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
INSTRUCTOR = "instructor-token-for-tests-only"
TINY_SPEC = """
[assignment]
name = "tiny"
title = "One cheap unit, for queue tests"

[limits]
wall_seconds = 20

[units.cross_entropy_error]
defines = ["cross_entropy_error"]
time_limit = 5

[units.cross_entropy_error.probes.batch]
kind = "call"
target = "cross_entropy_error"
args = ["y", "t"]
inputs.y = { gen = "probs", shape = [4, 10] }
inputs.t = { gen = "one_hot", classes = 10, n = 4 }

[[units.cross_entropy_error.checks]]
name = "batch"
probe = "batch"
points = 1
"""
TINY_NOTEBOOK = notebook_bytes(
    "import numpy as np",
    "def cross_entropy_error(y, t):\n"
    "    if y.ndim == 1:\n        t = t.reshape(1, t.size)\n        y = y.reshape(1, y.size)\n"
    "    return -np.sum(t * np.log(y + 1e-7)) / y.shape[0]\n")


class RedisServer:
    """A redis-server of the test's own, on a free port, append-only; can be stopped, restarted, flushed."""

    def __init__(self, directory: Path) -> None:
        require_program("redis-server", "`make install` installs Debian's redis-server package")
        self.directory, self.port = directory, free_port()
        self.processes = Processes()
        self.start()

    def start(self) -> None:
        self.url = start_redis(self.processes, self.directory, self.port)   # the same password on a restart

    def stop(self) -> None:
        self.processes.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server for the whole module (tests that flush it between them, or need not)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    """Each storage test twice: an SQLite file, and a PostgreSQL database of its own (dropped after)."""
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As `database_url`, one of each kind for the whole module (its tests run grouped by kind)."""
    with database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with database("postgresql", Path()) as url:
        yield url


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """An SQLite file in `folder`, or a PostgreSQL database of its own, dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'grader.sqlite3'}"
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"grader_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def assignments_dir(tmp_path: Path) -> Path:
    return make_assignments_dir(tmp_path)


@pytest.fixture(scope="module")
def module_assignments_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_assignments_dir(tmp_path_factory.mktemp("assignments"))


def make_assignments_dir(root: Path, real: tuple[str, ...] = ("backprop",)) -> Path:
    """Real assignments (backprop by default: a worker self-checks each one's solution when it starts) plus
    `tiny` (one cheap unit), for tests that need many gradings."""
    folder = root / "assignments"
    (folder / "tiny").mkdir(parents=True)
    (folder / "tiny" / "assignment.toml").write_text(TINY_SPEC)
    for name in real:
        (folder / name).symlink_to(ASSIGNMENTS_DIR / name)
    return folder


def service_env(data_dir: Path, database_url: str, broker_url: str, assignments_dir: Path,
                **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_") or k == "GRADER_CACHE_DIR"}
    env.update(GRADER_DATA_DIR=str(data_dir), GRADER_DATABASE_URL=database_url, GRADER_BROKER_URL=broker_url,
               GRADER_ASSIGNMENTS_DIR=str(assignments_dir), GRADER_INSTRUCTOR_TOKEN=INSTRUCTOR,
               GRADER_REQUEUE_AFTER="600", GRADER_RECONCILE_EVERY="0.5", GRADER_SUBMISSIONS_PER_MINUTE="50",
               GRADER_FAILED_SIGN_INS_PER_MINUTE="100000", GRADER_FAILED_SIGN_INS_PER_MINUTE_TOTAL="100000")
    env.update(extra)
    return env


@dataclass
class Stack:
    """`grader serve --workers 0` (API + reconciler) and `grader worker` processes, as an operator runs them."""

    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"          # what `grader serve --host` listens on
    serve_workers: int = 0           # workers `grader serve` starts itself (its own redis when no broker URL)
    processes: Processes = field(default_factory=Processes)
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> ServiceSettings:
        saved = dict(os.environ)
        try:
            os.environ.update(self.env)
            return ServiceSettings.from_env()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def store(self) -> Store:
        from service.db import make_engine

        return Store(make_engine(self.env["GRADER_DATABASE_URL"]))

    def start_api(self, timeout: float = 90) -> None:
        self.processes.start([sys.executable, "-m", "grader.cli", "serve", "--no-demo", "--workers",
                              str(self.serve_workers), "--host", self.host, "--port", str(self.port)],
                             env=self.env, log=self.log_dir / "serve.log")
        wait_until(lambda: _answers(self.url), timeout, "the API to answer")

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen:
        """A worker, returned once its heartbeat is in the database."""
        before = {w.name for w in self.store().live_workers()}
        beside = ["--started-by-serve"] if self.env["GRADER_DATABASE_URL"].startswith("sqlite") else []  # same machine
        worker = self.processes.start([sys.executable, "-m", "grader.cli", "worker", "--concurrency",
                                       str(concurrency), *beside], env=self.env, log=self.log_dir / "worker.log")
        self.workers.append(worker)
        wait_until(lambda: {w.name for w in self.store().live_workers()} - before, 180, "the worker's heartbeat")
        return worker

    def stop_worker(self, worker: subprocess.Popen) -> None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.log_dir.glob("*.log"))

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def roster(self, *ids: str) -> dict[str, str]:
        """Register students; their tokens by id."""
        body = "id,name,email\n" + "".join(f"{i},Student {i},{i}@example.org\n" for i in ids)
        with self.client(INSTRUCTOR) as c:
            answer = c.post("/api/roster", content=body, headers={"Content-Type": "text/csv"})
        answer.raise_for_status()
        return {s["id"]: s["token"] for s in answer.json()["students"]}

    def wait_finished(self, token: str, ids: list[str], timeout: float) -> dict[str, dict]:
        """Poll until every submission is done or failed; their final status objects."""
        final: dict[str, dict] = {}
        with self.client(token) as c:
            def all_finished() -> bool:
                for i in ids:
                    if i not in final:
                        status = c.get(f"/api/submissions/{i}").json()
                        if status["status"] in ("done", "failed"):
                            final[i] = status
                return len(final) == len(ids)
            wait_until(all_finished, timeout, f"{len(ids)} submissions to be graded")
        return final


def app_routes(stack: Stack) -> list[tuple[str, str, BaseRoute]]:
    """(method, path, route) of everything the stack's app answers, included routers' routes too: a test
    over them covers a route added later by itself."""
    from service.app import create_app

    app = create_app(stack.settings(), reconcile=False)
    app.state.services.store.engine.dispose()
    found = {(method, context.path): context.original_route for context in iter_route_contexts(app.routes)
             for method in getattr(context.original_route, "methods", None) or () if method != "HEAD"}
    return [(method, path, route) for (method, path), route in sorted(found.items())]


def submit(client: httpx.Client, assignment: str, filename: str, blob: bytes) -> str:
    answer = client.post(f"/api/assignments/{assignment}/submissions",
                         files={"file": (filename, blob, "application/x-ipynb+json")})
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


@pytest.fixture
def stack_factory(tmp_path: Path, redis_server: RedisServer, assignments_dir: Path) -> Iterator[Callable[..., Stack]]:
    stacks: list[Stack] = []

    def make(database_url: str, **extra: str) -> Stack:
        data_dir = tmp_path / f"var{len(stacks)}"
        data_dir.mkdir()
        stack = Stack(service_env(data_dir, database_url, redis_server.url, assignments_dir, **extra), data_dir)
        stacks.append(stack)
        stack.start_api()
        return stack

    try:
        yield make
    finally:
        for stack in stacks:
            stack.processes.stop(timeout=2)


@contextmanager
def running_stacks(root: Path, real: tuple[str, ...] = ("backprop",), **env: str) -> Iterator[Callable[[str], Stack]]:
    """A running stack (API and a worker grading two at a time, serving `real` assignments and tiny, `env`
    added to its settings) per database kind, "sqlite" or "postgresql", started on first use; all stopped
    on leaving."""
    stacks: dict[str, Stack] = {}
    with ExitStack() as cleanup:
        folder = make_assignments_dir(root, real)

        def running(kind: str) -> Stack:
            if kind not in stacks:
                data_dir = root / kind
                data_dir.mkdir()
                redis = RedisServer(data_dir / "redis")     # a broker of its own: a worker takes any message
                cleanup.callback(redis.stop)
                url = cleanup.enter_context(database(kind, data_dir))
                stack = stacks[kind] = Stack(service_env(data_dir, url, redis.url, folder, **env), data_dir)
                cleanup.callback(stack.processes.stop, timeout=2)
                stack.start_api(timeout=120)     # a loaded machine starts the API slowly
                stack.start_worker(concurrency=2)
            return stacks[kind]

        yield running


@pytest.fixture(scope="session")
def shared_stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Stack]]:
    """A running stack per database kind (`running_stacks`), shared by the session's tests whose behaviour
    does not depend on what else the service holds: each uses students (and courses) of its own and reads
    counts as differences. Started once, not per module: a start with every assignment costs 5-15 s."""
    with running_stacks(tmp_path_factory.mktemp("shared"), tuple(spec.available())) as shared:   # every one shipped
        yield shared


def empty(store: Store, keep: tuple[str, ...] = ()) -> None:
    """Delete every record but the tables in `keep`: a module's shared database as if new for the next test."""
    with store.sessions.begin() as s:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in keep:
                s.execute(table.delete())


def live(store: Store, name: str, pid: int | None = None, machine: str | None = None) -> lifecycle.WorkerIdentity:
    """A worker that beats as a live one does (on this machine unless `machine` says otherwise)."""
    me = lifecycle.WorkerIdentity(name, pid=pid or os.getpid())
    store.heartbeat(name, 1, me.host, me.pid, machine or lifecycle.this_machine(), ["tiny"])
    return me


def wait_until(condition: Callable[[], object], timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code in (200, 503)   # 503: no worker yet
    except httpx.HTTPError:
        return False
