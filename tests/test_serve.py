"""`grader serve` (what `make run` starts) and the service boundary of the core."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from grader.config import REPO_ROOT
from service.processes import free_port
from tests.conftest import require_program
from tests.service_parts import wait_until

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
            found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace") \
                if Path(f"/proc/{child}").exists() else ""
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Serve:
    """`grader serve` with nothing configured but a data dir and a port: private Redis, SQLite, demo course."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_") or k == "GRADER_CACHE_DIR"}
        self.log = data_dir.parent / f"serve-{self.port}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "grader.cli", "serve", "--port", str(self.port), "--data-dir", str(data_dir),
                 "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

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
        instructor = re.search(r"instructor token: (\S+)", output).group(1)
        students = dict(re.findall(r"(demo-\w+) +token: (\S+)", output))
        assert len(students) == 3
        headers = {"Authorization": f"Bearer {instructor}"}

        def demo_graded() -> bool:
            listed = httpx.get(f"{serve.url}/api/submissions", headers=headers, timeout=5).json()["submissions"]
            return len(listed) == DEMO_NOTEBOOKS and all(s["status"] == "done" for s in listed)

        wait_until(demo_graded, 90, "the demo course to be graded", every=0.5)
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


def test_the_core_imports_nothing_of_the_service() -> None:
    offenders = []
    for path in (REPO_ROOT / "grader").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"service", "workers", "celery",
                                                                                    "fastapi", "sqlalchemy"}]
    assert offenders == []
