"""Nothing a caller sends may hold the API process: against a real `grader serve`, every route refuses a
300 MB body before reading it (unauthenticated, declared or chunked), and a hostile notebook is checked
off the event loop while other requests stay prompt."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from service.uploads import MULTIPART_OVERHEAD
from tests.flooding import MB, api_process, flood
from tests.service_parts import (
    INSTRUCTOR,
    TINY_NOTEBOOK,
    RedisServer,
    Stack,
    app_routes,
    database,
    make_assignments_dir,
    service_env,
)

NOTEBOOK_LIMIT = 5 * MB                                  # GRADER_MAX_NOTEBOOK_BYTES's default
TEMP_CAP = NOTEBOOK_LIMIT + MULTIPART_OVERHEAD           # no temporary file may outgrow the largest body accepted
INTAKE_SECONDS = 0.5   # below what the slow notebook below costs on an idle machine (~2 s)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`grader serve` (no worker: nothing here needs grading) with a temp dir of its own to watch."""
    root = tmp_path_factory.mktemp("floods")
    (root / "tmp").mkdir()
    (root / "var").mkdir()
    with ExitStack() as cleanup:
        redis = RedisServer(root / "redis")
        cleanup.callback(redis.stop)
        url = cleanup.enter_context(database("sqlite", root))
        served = Stack(service_env(root / "var", url, redis.url, make_assignments_dir(root),
                                   TMPDIR=str(root / "tmp"), GRADER_INTAKE_SECONDS=str(INTAKE_SECONDS)), root / "var")
        cleanup.callback(served.processes.stop, timeout=2)
        served.start_api(timeout=120)      # a loaded machine starts the API's processes slowly
        yield served


def serve_pid(stack: Stack) -> int:
    """The API's own process: the one whose memory and open files a flood would grow."""
    return api_process(stack.processes.children[0].pid)


def temp_dir(stack: Stack) -> Path:
    return Path(stack.env["TMPDIR"])


def test_no_route_reads_its_body_before_its_dependencies_say_who_is_calling(stack: Stack) -> None:
    """FastAPI parses a declared Body/Form parameter before any dependency runs: routes read bodies themselves."""
    routes = app_routes(stack)
    assert len(routes) > 30
    assert [path for _, path, route in routes if getattr(route, "body_field", None) is not None] == []


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
@pytest.mark.parametrize("kind", ["json", "file", "fields"])
def test_every_route_refuses_a_300_mb_body_from_anyone_before_reading_it(stack: Stack, kind: str,
                                                                         chunked: bool) -> None:
    failures = []
    for method, template, _ in app_routes(stack):
        path = re.sub(r"{[^}]+}", "x", template)
        sent = flood(stack.port, method, path, kind, chunked, serve_pid(stack), temp_dir(stack))
        problems = [
            *(["no answer"] if sent.status is None else []),
            *([f"answered after {sent.seconds:.1f} s"] if sent.seconds > 5 else []),
            *([f"took {sent.sent / MB:.0f} MB first"] if sent.sent > 32 * MB else []),
            *([f"5xx: {sent.status}"] if (sent.status or 0) >= 500 and path != "/healthz" else []),  # 503: no worker
            *([f"RSS grew {sent.rss_growth / MB:.0f} MB"] if sent.rss_growth >= 20 * MB else []),
            *([f"a {sent.largest_temp_file / MB:.1f} MB temp file"] if sent.largest_temp_file > TEMP_CAP else []),
        ]
        if problems:
            failures.append(f"{method} {path}: {', '.join(problems)} (took {sent.sent / MB:.1f} MB)")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("PUT", "/api/assignments/backprop/policy", "json"), ("POST", "/api/roster", "file"),
    ("POST", "/api/roster", "json"),
])
def test_the_instructor_too_is_refused_a_body_larger_than_the_route_takes(stack: Stack, method: str, path: str,
                                                                          kind: str) -> None:
    sent = flood(stack.port, method, path, kind, True, serve_pid(stack), temp_dir(stack),
                 headers={"Authorization": f"Bearer {INSTRUCTOR}"})
    assert sent.status == 413 and sent.seconds < 5, sent
    assert sent.rss_growth < 20 * MB and sent.largest_temp_file <= TEMP_CAP, sent
    with stack.client(INSTRUCTOR) as client:      # and the service still answers the honest request
        honest = client.put(path, json={"policy": "latest"}) if method == "PUT" else \
            client.post(path, content="id,name,email\nzed,Zed,z@x.org\n", headers={"Content-Type": "text/csv"})
    assert honest.status_code in (200, 201), honest.text


def empty_cells_notebook(cells: int) -> bytes:
    """60,000 empty code cells are 4.8 MB: under the size limit, and seconds of schema validation."""
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": []}
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell] * cells}
    return json.dumps(notebook, separators=(",", ":")).encode()


@pytest.mark.alone   # a bystander's latency against its idle one
def test_a_hostile_notebook_is_checked_off_the_event_loop(stack: Stack) -> None:
    tokens = stack.roster("flooder", "bystander")
    hostile = empty_cells_notebook(60_000)
    assert len(hostile) < NOTEBOOK_LIMIT
    answers: list[tuple[int, float]] = []

    def attack() -> None:
        with stack.client(tokens["flooder"]) as client:
            started = time.monotonic()
            answer = client.post("/api/assignments/backprop/submissions",
                                 files={"file": ("hw.ipynb", hostile, "application/x-ipynb+json")})
            answers.append((answer.status_code, time.monotonic() - started))

    attackers = [threading.Thread(target=attack) for _ in range(3)]
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {tokens['bystander']}"}, timeout=60,
                      limits=httpx.Limits(max_keepalive_connections=0)) as client:   # a new connection each
        def wait() -> float:
            started = time.monotonic()
            assert client.get("/api/submissions").status_code == 200
            return time.monotonic() - started

        idle = max(wait() for _ in range(10))       # what the machine's own load costs a request
        for thread in attackers:
            thread.start()
        waits = [wait() for _ in iter(lambda: any(thread.is_alive() for thread in attackers), False)]
    assert [status for status, _ in answers] == [422] * 3, answers
    assert len(waits) > 3 and max(waits) < idle + 0.5, \
        f"a bystander waited {max(waits):.2f} s, {idle:.2f} s idle (attacks took {answers})"


def test_a_check_that_outlives_its_time_limit_is_refused_and_the_next_upload_is_checked(stack: Stack) -> None:
    """Under the caps, 1,000 cells of 85 outputs each still take seconds of conversion and validation (~2 s on
    an idle machine, every output an object of its own; the same bytes as long printouts cost ~0.3 s since the
    intake stopped parsing twice): the limit ends it."""
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": "",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}] * 85}
    slow = json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [cell] * 1000},
                      separators=(",", ":")).encode()
    tokens = stack.roster("slowpoke")
    with stack.client(tokens["slowpoke"]) as client:
        started = time.monotonic()
        refused = client.post("/api/assignments/backprop/submissions", files={"file": ("hw.ipynb", slow)})
        took = time.monotonic() - started
        honest = client.post("/api/assignments/tiny/submissions", files={"file": ("hw.ipynb", TINY_NOTEBOOK)})
    assert refused.status_code == 422 and f"longer than {INTAKE_SECONDS} s" in refused.json()["detail"], refused.text
    assert took < INTAKE_SECONDS + 5
    assert honest.status_code == 202, honest.text       # a fresh checking process took the killed one's place
