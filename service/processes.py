"""The processes `grader serve` starts: a private redis-server and the worker; all stopped together."""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

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


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass


def start_redis(processes: Processes, directory: Path, port: int | None = None) -> str:
    """A private redis-server on a free loopback port, append-only file on (a restart keeps the queue), with
    a random password: its URL (password included) is what the API and the workers are given."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    port = port or free_port()
    config = redis_config(directory)
    processes.start(["redis-server", str(config), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory),
                     "--appendonly", "yes", "--save", "", "--protected-mode", "yes", "--daemonize", "no",
                     "--logfile", str(directory / "redis.log")])
    url = f"redis://:{_password(config)}@127.0.0.1:{port}/0"
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


def _password(config: Path) -> str:
    return next(line.split()[1] for line in config.read_text().splitlines() if line.startswith("requirepass "))


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


def start_worker(processes: Processes, concurrency: int, env: dict[str, str], log: Path | None = None):
    """`grader worker --concurrency N` as a child process."""
    return processes.start([sys.executable, "-m", "grader.cli", "worker", "--concurrency", str(concurrency)],
                           env=env, log=log)
