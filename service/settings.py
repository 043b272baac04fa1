"""Service settings: read once from the environment, every field with a working default."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from grader.config import ASSIGNMENTS_DIR, Settings


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


MIN_INSTRUCTOR_TOKEN_CHARS = 24   # what a guessing attacker faces: 24 characters are at least ~140 bits


class SettingsError(ValueError):
    """A setting the service refuses to start with; the message names it and says what would do."""


@dataclass(frozen=True)
class ServiceSettings:
    """What an operator configures for the service (the core's own settings ride along in `grader`)."""

    data_dir: Path
    database_url: str                  # SQLite in data_dir unless GRADER_DATABASE_URL is set
    broker_url: str | None             # None: `grader serve` starts a private redis-server
    instructor_token: str | None       # None: generated at first start, printed once
    assignments_dir: Path
    submissions_per_minute: int        # per student; more gets 429 with Retry-After
    max_active_per_student: int        # a student's submissions queued or running at once; the rest wait their turn
    requeue_after: float               # seconds a submission may sit queued/running before re-enqueued
    reconcile_every: float             # seconds between the reconciler's sweeps
    max_attempts: int                  # grading attempts before a submission is failed
    web_secret: str | None             # signs the pages' session cookies; None: a random key kept in data_dir
    grader: Settings
    failed_sign_ins_per_minute: int = 10           # per client address; more are answered 429 untried
    failed_sign_ins_per_minute_total: int = 100    # from all addresses together (a guesser with many)
    metrics_token: str | None = None               # None: /metrics answers loopback clients only

    def __post_init__(self) -> None:
        token = self.instructor_token
        if token is not None and len(token) < MIN_INSTRUCTOR_TOKEN_CHARS:
            raise SettingsError(f"GRADER_INSTRUCTOR_TOKEN has {len(token)} characters; it needs at least "
                                f"{MIN_INSTRUCTOR_TOKEN_CHARS} (unset it and one is generated, or use "
                                "`python -c 'import secrets; print(secrets.token_urlsafe(24))'`)")
        if min(self.failed_sign_ins_per_minute, self.failed_sign_ins_per_minute_total) < 1:
            raise SettingsError("GRADER_FAILED_SIGN_INS_PER_MINUTE(_TOTAL) must be at least 1")

    @classmethod
    def from_env(cls) -> ServiceSettings:
        data_dir = Path(os.environ.get("GRADER_DATA_DIR") or "var").resolve()
        return cls(
            data_dir=data_dir,
            database_url=os.environ.get("GRADER_DATABASE_URL") or sqlite_url(data_dir),
            broker_url=os.environ.get("GRADER_BROKER_URL") or None,
            instructor_token=os.environ.get("GRADER_INSTRUCTOR_TOKEN") or None,
            assignments_dir=Path(os.environ.get("GRADER_ASSIGNMENTS_DIR") or ASSIGNMENTS_DIR),
            submissions_per_minute=_int("GRADER_SUBMISSIONS_PER_MINUTE", 10),
            max_active_per_student=_int("GRADER_MAX_ACTIVE_PER_STUDENT", 2),
            requeue_after=_float("GRADER_REQUEUE_AFTER", 300.0),
            reconcile_every=_float("GRADER_RECONCILE_EVERY", 15.0),
            max_attempts=_int("GRADER_MAX_ATTEMPTS", 3),
            web_secret=os.environ.get("GRADER_WEB_SECRET") or None,
            grader=Settings.from_env(),
            failed_sign_ins_per_minute=_int("GRADER_FAILED_SIGN_INS_PER_MINUTE", 10),
            failed_sign_ins_per_minute_total=_int("GRADER_FAILED_SIGN_INS_PER_MINUTE_TOTAL", 100),
            metrics_token=os.environ.get("GRADER_METRICS_TOKEN") or None,
        )

    def with_data_dir(self, data_dir: Path) -> ServiceSettings:
        """The same settings in another data directory (its SQLite too, unless a database URL was given)."""
        data_dir = data_dir.resolve()
        url = self.database_url
        if url == sqlite_url(self.data_dir):
            url = sqlite_url(data_dir)
        return replace(self, data_dir=data_dir, database_url=url)

    def environ(self) -> dict[str, str]:
        """These settings as environment variables, for the processes `grader serve` starts."""
        env = {
            "GRADER_DATA_DIR": str(self.data_dir), "GRADER_DATABASE_URL": self.database_url,
            "GRADER_ASSIGNMENTS_DIR": str(self.assignments_dir),
            "GRADER_SUBMISSIONS_PER_MINUTE": str(self.submissions_per_minute),
            "GRADER_MAX_ACTIVE_PER_STUDENT": str(self.max_active_per_student),
            "GRADER_REQUEUE_AFTER": str(self.requeue_after), "GRADER_RECONCILE_EVERY": str(self.reconcile_every),
            "GRADER_MAX_ATTEMPTS": str(self.max_attempts),
            "GRADER_FAILED_SIGN_INS_PER_MINUTE": str(self.failed_sign_ins_per_minute),
            "GRADER_FAILED_SIGN_INS_PER_MINUTE_TOTAL": str(self.failed_sign_ins_per_minute_total),
        }
        if self.broker_url:
            env["GRADER_BROKER_URL"] = self.broker_url
        return env


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'grader.sqlite3'}"
