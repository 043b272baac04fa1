"""Shared fixtures: settings with an isolated cache, the assignment, and service probes."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from grader import spec
from grader.config import Settings

REPO = Path(__file__).resolve().parent.parent
SHARED_EXAMPLES = REPO.parent / "shared" / "examples"

pytest_plugins = ["tests.service_parts"]   # fixtures of the service tests: Redis, PostgreSQL, processes


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The operator's defaults, with the data cache kept in the user's cache dir (shared by runs)."""
    return Settings.from_env()


@pytest.fixture(scope="session")
def backprop() -> spec.Assignment:
    return spec.load("backprop")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Fail loudly (never skip silently in CI) when a service the test needs is not running."""
    if not reachable(host, port):
        message = f"{name} is not reachable on {host}:{port}; start it before running the tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
