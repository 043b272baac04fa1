"""Shared fixtures: settings with an isolated cache, the assignment, and service probes."""

from __future__ import annotations

import importlib
import os
import shutil
import socket
from pathlib import Path
from types import ModuleType

import pytest

from grader import spec
from grader.config import Settings

REPO = Path(__file__).resolve().parent.parent
SHARED_EXAMPLES = REPO.parent / "shared" / "examples"

# fixtures of the service tests (Redis, PostgreSQL, processes), of the hostile suites (the sandbox, short limits)
# and of the LTI tests (a platform over HTTP)
pytest_plugins = ["tests.service_parts", "tests.hostile", "tests.lti_parts"]


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


def require(what: str, present: bool, how: str) -> None:
    """A part the test needs: when it is missing, fail in CI (env CI set: the suite must not pass by
    skipping) and skip elsewhere, saying what is missing and how to get it."""
    if present:
        return
    message = f"{what} is missing: {how}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)


def require_service(name: str, host: str, port: int) -> None:
    """A service the test needs running (PostgreSQL, Redis)."""
    require(name, reachable(host, port), f"nothing answers on {host}:{port}; start it before running the tests")


def require_program(name: str, how: str) -> None:
    """A program the test starts (redis-server)."""
    require(name, shutil.which(name) is not None, how)


def require_module(name: str, how: str) -> ModuleType:
    """A Python module the test drives (playwright), imported."""
    try:
        return importlib.import_module(name)
    except ImportError:
        require(name, False, how)
        raise


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`make test`'s two processes (pytest-xdist) take a module at a time, so a module's shared stack starts once,
    and the hostile suites as one, so a fork bomb or a spinning unit never runs beside another suite's timed
    grading."""
    from xdist.scheduler import LoadScopeScheduling

    from tests.hostile import HOSTILE_SUITES  # imported here: a plugin, its asserts rewritten

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "hostile suites" if Path(module).stem in HOSTILE_SUITES else module

    return ByModule(config, log)
