"""The processes `grader serve` starts: a private redis-server and the worker; all stopped together."""

from __future__ import annotations

import ctypes
import os
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
    """A private redis-server on a free loopback port, append-only file on (a restart keeps the queue)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    processes.start(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory),
                     "--appendonly", "yes", "--save", "", "--protected-mode", "yes", "--daemonize", "no",
                     "--logfile", str(directory / "redis.log")])
    url = f"redis://127.0.0.1:{port}/0"
    wait_for_redis(url)
    return url


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
