"""The processes `grader serve` starts (a private redis-server, the worker, the API), kept running by a
supervisor that reaps, logs and restarts any that dies, with back-off; all stopped together."""

from __future__ import annotations

import ctypes
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

log = logging.getLogger("grader.serve")

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: its own process group, and SIGTERM if the parent dies (even by SIGKILL)."""
    os.setsid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Child processes, each in its own process group, stopped (TERM, then KILL) in reverse order."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []

    def start(self, argv: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen:
        out = open(log, "ab") if log else None  # noqa: SIM115 - closed with the process
        try:
            child = subprocess.Popen(argv, env=env, stdout=out or None, stderr=subprocess.STDOUT if out else None,
                                     preexec_fn=_die_with_parent)
        finally:
            if out:
                out.close()
        self.children.append(child)
        return child

    def forget(self, child: subprocess.Popen) -> None:
        """A child that has exited (and been reaped) is no longer stopped with the others."""
        self.children.remove(child)

    def stop(self, timeout: float = 15.0) -> None:
        for child in reversed(self.children):
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in reversed(self.children):
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(child, signal.SIGKILL)
            child.wait()
        self.children.clear()


@dataclass
class Supervised:
    """A child the supervisor keeps running: how to start it again, and when to."""

    name: str
    argv: list[str]
    env: dict[str, str] | None
    log: Path | None
    ready: Callable[[], None] | None            # blocks until the restarted child answers
    process: subprocess.Popen
    started: float = field(default_factory=time.monotonic)
    delay: float = 0.0                           # the back-off before the next restart
    restart_at: float | None = None              # set while it is dead and waiting for its restart
    restarts: int = 0


class Supervisor:
    """Keeps children running. A child that exits is reaped, logged, its process group killed (a worker's pool
    with it) and started again after a back-off: 1 s, doubling up to 30 s, back to 1 s once it ran a minute.
    `restarted(name)` is called after each restart (`grader serve` re-publishes what the crash left waiting)."""

    FIRST_DELAY, MAX_DELAY, STABLE_SECONDS = 1.0, 30.0, 60.0

    def __init__(self, processes: Processes, restarted: Callable[[str], None] = lambda name: None) -> None:
        self.processes, self.restarted = processes, restarted
        self.children: list[Supervised] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None, log_file: Path | None = None,
              ready: Callable[[], None] | None = None) -> subprocess.Popen:
        child = Supervised(name, argv, env, log_file, ready, self.processes.start(argv, env=env, log=log_file))
        if ready:
            ready()
        self.children.append(child)
        return child.process

    def watch(self, stop: threading.Event, every: float = 0.2) -> None:
        """Check the children every `every` seconds until `stop` is set."""
        while not stop.wait(every):
            for child in self.children:
                self._check(child)

    def _check(self, child: Supervised) -> None:
        now = time.monotonic()
        if child.restart_at is None:
            code = child.process.poll()          # reaps it: no zombie
            if code is None:
                return
            _signal_group(child.process, signal.SIGKILL)     # what it left behind in its group
            ran = now - child.started
            child.delay = self.FIRST_DELAY if ran >= self.STABLE_SECONDS or not child.delay \
                else min(self.MAX_DELAY, child.delay * 2)
            child.restart_at = now + child.delay
            log.warning("%s (pid %d) exited with status %s after %.0f s; restarting it in %g s", child.name,
                        child.process.pid, code, ran, child.delay)
            return
        if now < child.restart_at:
            return
        self.processes.forget(child.process)
        child.process = self.processes.start(child.argv, env=child.env, log=child.log)
        child.started, child.restart_at, child.restarts = time.monotonic(), None, child.restarts + 1
        try:
            if child.ready:
                child.ready()
        except RuntimeError as exc:          # it died again or does not answer: the next check restarts it
            log.warning("%s (pid %d) restarted but is not ready: %s", child.name, child.process.pid, exc)
            return
        log.warning("%s restarted (pid %d, restart %d)", child.name, child.process.pid, child.restarts)
        try:
            self.restarted(child.name)
        except Exception:  # noqa: BLE001 - the next restart or the reconciler will catch up
            log.exception("after restarting %s", child.name)


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass


def redis_argv(directory: Path, port: int, bind: tuple[str, ...] = ("127.0.0.1",)) -> list[str]:
    """A private redis-server on `bind` (loopback unless told), its append-only file in `directory` (a restart
    keeps the queue), its password in `redis.conf` there (see `redis_config`)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return ["redis-server", str(redis_config(directory)), "--bind", *bind, "--port", str(port),
            "--dir", str(directory), "--appendonly", "yes", "--save", "", "--protected-mode", "yes",
            "--daemonize", "no", "--logfile", str(directory / "redis.log")]


def start_redis(processes: Processes, directory: Path, port: int | None = None,
                bind: tuple[str, ...] = ("127.0.0.1",)) -> str:
    """A private redis-server (see `redis_argv`) on a free port; its URL at its first address (password
    included) once it answers."""
    port = port or free_port()
    processes.start(redis_argv(directory, port, bind))
    url = redis_url(directory, port, bind[0])
    wait_for_redis(url)
    return url


def redis_config(directory: Path) -> Path:
    """`redis.conf` (0600) holding the private broker's password, made once: the password is never on
    redis-server's command line, where `ps` would show it to every local user."""
    config = directory / "redis.conf"
    try:
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return config
    with os.fdopen(fd, "w") as fh:
        fh.write(f"requirepass {secrets.token_hex(32)}\n")
    return config


def redis_url(directory: Path, port: int, host: str = "127.0.0.1") -> str:
    """The URL of the private redis-server of `directory` at `host`, its password included."""
    config = redis_config(directory).read_text().splitlines()
    password = next(line.split()[1] for line in config if line.startswith("requirepass "))
    return f"redis://:{password}@{host}:{port}/0"


def redacted(url: str) -> str:
    """A broker URL fit to print: its password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{credentials.split(':')[0]}:***@{host}" if at else url


def wait_for_redis(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    while True:
        try:
            client.ping()
            return
        except redis.exceptions.RedisError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer at {url}") from None
            time.sleep(0.05)


def worker_argv(concurrency: int) -> list[str]:
    """`grader worker --concurrency N`, allowed the SQLite file of the `grader serve` that starts it."""
    return [sys.executable, "-m", "grader.cli", "worker", "--concurrency", str(concurrency), "--started-by-serve"]


def api_argv(host: str, port: int) -> list[str]:
    """The API and pages under uvicorn (the app built from the environment's settings)."""
    return [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory", "--host", host, "--port",
            str(port), "--log-level", "info"]
