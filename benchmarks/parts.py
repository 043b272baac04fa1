"""What the benchmark scripts share: the repository on the path, percentiles, waiting for a service that is
coming up, `grader serve` on a private redis-server, and a scratch database (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))      # the scripts run as `python benchmarks/NAME.py` from a clone

from service.processes import Processes, free_port, start_redis  # noqa: E402

GRADER = str(Path(sys.executable).with_name("grader"))
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_for(condition: Callable[[], object], timeout: float, what: str, every: float = 0.1) -> None:
    """Poll `condition` until it holds; a service that does not answer yet (an HTTP error) is not there yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def serve(processes: Processes, directory: Path, env: dict[str, str], timeout: float = 60) -> tuple[str, dict]:
    """`grader serve --workers 0` with its data in `directory` and a redis-server of its own, `env` added to the
    environment; its URL and environment once /metrics answers (a large database migrates slowly: `timeout`)."""
    port = free_port()
    env = {**os.environ, "GRADER_DATA_DIR": str(directory),
           "GRADER_BROKER_URL": start_redis(processes, directory / "redis"), **env}
    processes.start([GRADER, "serve", "--port", str(port), "--workers", "0", "--no-demo"], env=env,
                    log=directory / "serve.log")
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(f"{url}/metrics", timeout=10).status_code == 200, timeout, "the service to answer",
             every=0.2)
    return url, env


@contextmanager
def database(kind: str, keep: bool = False) -> Iterator[tuple[Path, str]]:
    """A fresh directory and an empty database's URL ("sqlite": a file in it; "postgresql": a database of its own
    at 127.0.0.1:5432); both removed afterwards unless `keep` (to time again: the URL is in `database-url`)."""
    directory = Path(tempfile.mkdtemp(prefix="benchmark-"))
    name = f"benchmark_{uuid.uuid4().hex[:8]}"
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'grader.sqlite3'}"
    else:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    directory.joinpath("database-url").write_text(url)
    try:
        yield directory, url
    finally:
        if keep:
            print(f"kept {directory} (time it again: --again {directory})", flush=True)
        else:
            shutil.rmtree(directory, ignore_errors=True)
            if kind != "sqlite":
                with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
