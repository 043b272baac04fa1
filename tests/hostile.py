"""Helpers for the adversarial and hardening suites: the solution notebook with hostile code injected,
graded fast, and their fixtures (a plugin of tests/conftest.py: `sandboxed`, `fast`).

Every hostile notebook starts from the definitions of assignments/backprop/solution.ipynb, so
whatever the injected code does not break must still earn full marks.
"""

from __future__ import annotations

import ctypes
import json
import re
import socket
import textwrap
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from grader import pipeline
from grader.config import Settings
from grader.reports import SubmissionReport
from grader.sandbox import sandbox_problem
from grader.types import Assignment
from tests.notebooks import notebook_bytes, solution_cells

REPO = Path(__file__).resolve().parent.parent
SEED = 20240611
# the suites of hostile notebooks (their tests use `sandboxed`): run one after another, never side by side
HOSTILE_SUITES = ("test_adversarial", "test_exfiltration", "test_tampering", "test_hostile_notebooks",
                  "test_hardening", "test_syscall_filter")
LIBC = ctypes.CDLL(None, use_errno=True)   # the host's, for the calls the hardening suites make from outside
LIBC.syscall.restype = ctypes.c_long

# Unit time limits for the suite: short where student code may hang, generous for training.
STATEMENT_SECONDS = 2.0
UNIT_SECONDS = 3.0
NUMERICAL_GRAD_SECONDS = 2.0
ACCURACY_SECONDS = 20.0
# Sandbox start, loading, every unit that finishes normally and the checks take ~1.5 s; a
# loaded machine (2 CPUs shared with a spinning hostile process) may need several times that.
BASE_SECONDS = 12.0


@pytest.fixture(scope="session")
def sandboxed(settings: Settings) -> None:
    """The hostile suites judge the real sandbox: never run them without it."""
    assert not settings.unsafe_no_sandbox, "the hostile suites must run with the sandbox"
    problem = sandbox_problem(settings)
    assert problem is None, problem


@pytest.fixture(name="fast", scope="session")
def fast_backprop(backprop: Assignment) -> Assignment:
    """backprop with the suites' short limits (`fast`)."""
    return fast(backprop)


def inject(cells: list[str], anchor: str, code: str) -> list[str]:
    """Insert `code` as the first lines of the block opened by the unique line `anchor`."""
    out, found = [], 0
    for source in cells:
        lines = source.splitlines()
        new = []
        for line in lines:
            new.append(line)
            if line.strip() == anchor:
                found += 1
                indent = line[:len(line) - len(line.lstrip())] + "    "
                new += [indent + x if x.strip() else "" for x in textwrap.dedent(code).strip("\n").splitlines()]
        out.append("\n".join(new) + ("\n" if source.endswith("\n") else ""))
    assert found == 1, f"anchor {anchor!r} found {found} times"
    return out


def in_numerical_grad(code: str) -> list[str]:
    """The solution with `code` run first thing in numerical_grad, which only its own unit calls."""
    return inject(solution_cells(), "def numerical_grad(f, x):", code)


def in_class_body(code: str) -> list[str]:
    """The solution plus a class whose body runs `code` in the harness process while loading."""
    body = "\n".join("    " + line for line in textwrap.dedent(code).strip("\n").splitlines())
    return [*solution_cells(), "class Hostile:\n" + body]


def printed(report: SubmissionReport, tag: str) -> dict:
    """The JSON a hostile class body printed after `tag` (the report's output is its only channel)."""
    match = re.search(rf"^{tag} (.*)$", report.output, re.M)
    assert match, (report.output[:2000], report.notes)
    return json.loads(match.group(1))


def substitute(cells: list[str], old: str, new: str) -> list[str]:
    joined = [c.count(old) for c in cells]
    assert sum(joined) == 1, f"{old!r} found {sum(joined)} times"
    return [c.replace(old, new) for c in cells]


def fast(assignment: Assignment, **unit_limits: float) -> Assignment:
    """The assignment with short limits, so a hostile submission costs seconds, not minutes."""
    limits = replace(assignment.limits, statement_seconds=STATEMENT_SECONDS, wall_seconds=90)
    seconds = {"numerical_grad": NUMERICAL_GRAD_SECONDS, "accuracy": ACCURACY_SECONDS, **unit_limits}
    units = {name: replace(unit, time_limit=seconds.get(name, UNIT_SECONDS))
             for name, unit in assignment.units.items()}
    return replace(assignment, limits=limits, units=units)


@dataclass
class Graded:
    report: SubmissionReport
    seconds: float

    @property
    def json(self) -> str:
        return json.dumps(self.report.to_dict(), ensure_ascii=False)

    def unit(self, name: str):
        return self.report.units[name]

    def full(self, name: str) -> bool:
        unit = self.report.units[name]
        return unit.score == unit.max_score

    def messages(self, name: str) -> list[str]:
        return [c.message for c in self.report.units[name].checks if not c.passed]

    def assert_full_except(self, *hit: str) -> None:
        """Every unit but `hit` earned full marks; every unit in `hit` lost something."""
        assert self.report.error is None, self.report.error
        for name, unit in self.report.units.items():
            if name in hit:
                assert unit.score < unit.max_score, f"{name} got full marks despite the hostile code"
            else:
                assert unit.score == unit.max_score, f"{name}: {unit.score}/{unit.max_score} {self.messages(name)}"

    def assert_within(self, seconds: float) -> None:
        assert self.seconds < seconds, f"grading took {self.seconds:.1f} s, expected under {seconds:.1f} s"


def grade(cells: list[str] | bytes, assignment: Assignment, settings: Settings, name: str = "hostile.ipynb"
          ) -> Graded:
    blob = cells if isinstance(cells, bytes) else notebook_bytes(*cells)
    started = time.monotonic()
    report = pipeline.grade_bytes(blob, name, assignment, settings, seed=SEED, lang="en")
    return Graded(report, time.monotonic() - started)


# --- Redis, spoken in RESP over a plain socket -------------------------------------------------


def redis(*args: str, host: str = "127.0.0.1", port: int = 6379) -> bytes:
    """Send one command and return the raw reply (enough for SET/GET/DEL)."""
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args)
    with socket.create_connection((host, port), timeout=5) as conn:
        conn.sendall(payload)
        reply = b""
        while not reply.endswith(b"\r\n") or (reply.startswith(b"$") and reply.count(b"\r\n") < 2
                                               and not reply.startswith(b"$-1")):
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply
