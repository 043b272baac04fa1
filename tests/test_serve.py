"""`grader serve` (what `make run` starts) and the service boundary of the core."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from grader.config import REPO_ROOT
from service.processes import free_port
from tests.conftest import require_program
from tests.service_parts import INSTRUCTOR, TINY_NOTEBOOK, TINY_SPEC, wait_until

DEMO_NOTEBOOKS = len(list((REPO_ROOT / "assignments" / "backprop" / "examples").glob("*.ipynb")))


def descendants(pid: int) -> dict[int, str]:
    """Every live process below `pid` (from /proc), with its command line."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = _command_line(child)
            todo.append(child)
    return found


def _command_line(pid: int) -> str:
    """The process's command line, or "" once it has gone (it may end between listing and reading)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Serve:
    """`grader serve` with nothing configured but a data dir and a port: private Redis, SQLite, demo course."""

    def __init__(self, data_dir: Path, workers: int = 2, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_") or k == "GRADER_CACHE_DIR"}
        env.update(settings)
        self.log = data_dir.parent / f"serve-{self.port}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "grader.cli", "serve", "--port", str(self.port), "--data-dir", str(data_dir),
                 "--workers", str(workers), *(["--no-demo"] if settings else [])], env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> dict[int, str]:
        """Ctrl-C's signal (SIGTERM here); returns, once `grader serve` has exited, what it had started."""
        started = descendants(self.process.pid)
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        return started

    def close(self) -> None:
        """Whatever happened: stop it, and kill anything it left behind."""
        started = self.stop() if self.process.poll() is None else {}
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_serve_starts_everything_grades_the_demo_and_stops_everything(tmp_path: Path) -> None:
    require_program("redis-server", "`make install` installs Debian's redis-server package")
    serve = Serve(tmp_path / "var")
    try:
        wait_until(serve.healthy, 90, "grader serve to be healthy")
        output = serve.output()
        assert f"http://127.0.0.1:{serve.port}" in output
        instructor = re.search(r"instructor token \(shown once, keep it\): (\S+)", output).group(1)
        students = dict(re.findall(r"(demo-\w+) +token: (\S+)", output))
        assert len(students) == 3
        headers = {"Authorization": f"Bearer {instructor}"}

        def demo_graded() -> bool:
            listed = httpx.get(f"{serve.url}/api/submissions", headers=headers, timeout=5).json()["submissions"]
            return len(listed) == DEMO_NOTEBOOKS and all(s["status"] == "done" for s in listed)

        wait_until(demo_graded, 90, "the demo course to be graded", every=0.5)
        rows = httpx.get(f"{serve.url}/api/courses/default/offerings/backprop/results", headers=headers,
                         timeout=5).json()["results"]
        assert {r["student"]: r["late_days"] for r in rows} == {"demo-alice": 0, "demo-bob": 1, "demo-chika": 0}
        alice = httpx.get(f"{serve.url}/api/submissions", timeout=5,
                          headers={"Authorization": f"Bearer {students['demo-alice']}"}).json()["submissions"]
        assert alice and {s["student"] for s in alice} == {"demo-alice"}
        started = serve.stop()
        assert any("redis-server" in name for name in started.values())
        assert any("worker" in name for name in started.values())
        assert serve.process.returncode == 0
        time.sleep(0.5)
        assert not [p for p in started if alive(p)], "processes left running after grader serve stopped"
        assert (tmp_path / "var" / "grader.sqlite3").exists() and (tmp_path / "var" / "redis").is_dir()
    finally:
        serve.close()
    again = Serve(tmp_path / "var")           # a restart keeps the course and prints no new tokens
    try:
        wait_until(again.healthy, 90, "grader serve to restart")
        assert "demo students" not in again.output() and instructor not in again.output()
        listed = httpx.get(f"{again.url}/api/submissions", headers=headers, timeout=5).json()["submissions"]
        assert len(listed) == DEMO_NOTEBOOKS
    finally:
        again.close()


def child(serve: Serve, marker: str) -> int:
    """The pid of the one child of `grader serve` whose command line holds `marker`."""
    found = [pid for pid, command in descendants(serve.process.pid).items()
             if marker in command and _parent(pid) == serve.process.pid]
    assert len(found) == 1, (marker, descendants(serve.process.pid))
    return found[0]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def test_every_child_killed_during_a_burst_is_restarted_and_every_submission_graded_once(tmp_path: Path) -> None:
    """redis-server, the worker and the API are each SIGKILLed while students upload: `grader serve` reaps,
    logs and restarts each (Redis on its append-only file), and every stored submission ends with one result."""
    require_program("redis-server", "`make install` installs Debian's redis-server package")
    folder = tmp_path / "assignments" / "tiny"
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(TINY_SPEC.replace("wall_seconds = 20", "wall_seconds = 5"))
    serve = Serve(tmp_path / "var", workers=2, GRADER_ASSIGNMENTS_DIR=str(folder.parent),
                  GRADER_INSTRUCTOR_TOKEN=INSTRUCTOR, GRADER_SUBMISSIONS_PER_MINUTE="1000",
                  GRADER_REQUEUE_AFTER="600")        # recovery must not wait for the reconciler's deadline
    try:
        wait_until(serve.healthy, 90, "grader serve to be healthy")
        with httpx.Client(base_url=serve.url, headers={"Authorization": f"Bearer {INSTRUCTOR}"}) as c:
            body = "id,name,email\n" + "".join(f"b{i},B {i},b{i}@x.org\n" for i in range(4))
            tokens = [s["token"] for s in c.post("/api/roster", content=body,
                                                  headers={"Content-Type": "text/csv"}).json()["students"]]
        accepted: list[str] = []
        stop = threading.Event()

        def burst(token: str) -> None:
            with httpx.Client(base_url=serve.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
                while not stop.is_set():
                    try:
                        answer = c.post("/api/assignments/tiny/submissions",
                                        files={"file": ("hw.ipynb", TINY_NOTEBOOK, "application/x-ipynb+json")})
                    except httpx.HTTPError:              # the API is down: not accepted, try again
                        time.sleep(0.2)
                        continue
                    if answer.status_code == 202:
                        accepted.append(answer.json()["id"])
                    time.sleep(1)        # four students together about as fast as two slots grade them

        threads = [threading.Thread(target=burst, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        back_in: dict[str, float] = {}

        def uploads(more: int, least: int = 0) -> None:
            """Wait for `more` uploads accepted from now (at least `least` in all): each kill lands mid-burst."""
            wanted = max(len(accepted) + more, least)
            wait_until(lambda: len(accepted) >= wanted, 60, f"{wanted} uploads to be accepted")

        try:
            for name, marker in (("redis-server", "redis-server"), ("worker", "grader.cli worker"),
                                 ("api", "uvicorn")):
                uploads(4)
                old = child(serve, marker)
                os.kill(old, signal.SIGKILL)
                killed = time.monotonic()
                wait_until(lambda m=marker, o=old: _restarted(serve, m, o), 30, f"{name} to be restarted")
                wait_until(serve.healthy, 60, f"the service to be healthy after {name} was killed")
                back_in[name] = time.monotonic() - killed
                assert not alive(old)                    # reaped, not a zombie
            uploads(4, least=10)
        finally:
            stop.set()
            for t in threads:
                t.join()
        with httpx.Client(base_url=serve.url, headers={"Authorization": f"Bearer {INSTRUCTOR}"}, timeout=10) as c:
            def all_done() -> bool:
                listed = c.get("/api/submissions").json()["submissions"]
                return bool(listed) and all(s["status"] == "done" for s in listed)
            wait_until(all_done, 120, "every submission to be graded", every=0.2)
            listed = c.get("/api/submissions").json()["submissions"]
        assert set(accepted) <= {s["id"] for s in listed} and len(accepted) >= 10
        results = _results_per_submission(tmp_path / "var" / "grader.sqlite3")
        assert set(results) == {s["id"] for s in listed} and set(results.values()) == {1}
        output = serve.output()
        for name in back_in:
            assert re.search(rf"{re.escape(name)} \(pid \d+\) exited with status -9", output), name
        assert back_in["redis-server"] < 10, back_in
        print(f"\nrestarted and healthy again after (s): {back_in}; {len(accepted)} uploads accepted, "
              f"{len(results)} submissions stored, each with one result")
    finally:
        serve.close()


def _restarted(serve: Serve, marker: str, old: int) -> bool:
    try:
        return child(serve, marker) != old
    except AssertionError:
        return False


def _results_per_submission(database: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT s.id, COUNT(r.id) FROM submissions s LEFT JOIN results r "
                          "ON r.submission_id = s.id GROUP BY s.id").fetchall()
    return dict(rows)


def test_the_core_imports_nothing_of_the_service() -> None:
    offenders = []
    for path in (REPO_ROOT / "grader").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"service", "workers", "celery",
                                                                                    "fastapi", "sqlalchemy"}]
    assert offenders == []
