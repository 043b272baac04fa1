"""Service settings: read once from the environment, every field with a working default."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from grader.config import ASSIGNMENTS_DIR, Settings

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
_HOST_NAME = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]|\*")


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


MIN_INSTRUCTOR_TOKEN_CHARS = 24   # what a guessing attacker faces: 24 characters are at least ~140 bits


class SettingsError(ValueError):
    """A setting the service refuses to start with; the message names it and says what would do."""


def _bounded(name: str, default: float, low: float, meaning: str) -> float:
    """A number of at least `low`; anything else stops the service with a message naming the variable."""
    text = (os.environ.get(name) or "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        raise SettingsError(f"{name} must be a number ({meaning}), not {text[:40]!r}") from None
    if not value >= low:
        raise SettingsError(f"{name} must be at least {low:g} ({meaning}), not {text}")
    return value


def allowed_hosts(text: str | None, bind: str | None = None) -> tuple[str, ...]:
    """GRADER_ALLOWED_HOSTS (comma-separated names, `*.example.org` or `*`), else the bind address and localhost."""
    if not (text or "").strip():
        bound = f"[{bind}]" if bind and ":" in bind else bind
        return tuple(dict.fromkeys((*LOCAL_HOSTS, *([bound] if bound and bound not in ("0.0.0.0", "[::]") else []))))
    names = tuple(n.strip().lower() for n in (text or "").split(",") if n.strip())
    for name in names:
        if not _HOST_NAME.fullmatch(name):
            raise SettingsError(f"GRADER_ALLOWED_HOSTS: {name[:60]!r} is not a host name (such as grader.example.org, "
                                "*.example.org, 192.0.2.7 or [2001:db8::7]; no port)")
    return names


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
    web_secret: str | None             # signs the pages' session cookies; None: the one kept in the database
    allowed_hosts: tuple[str, ...]     # Host header names answered (service/edges.py); others get 400
    max_body_bytes: int                # every request body but an upload's (service/edges.py); more gets 413
    intake_seconds: float              # the upload check's time limit, in its worker process (service/upload_check.py)
    grader: Settings
    failed_sign_ins_per_minute: int = 10           # per client address; more are answered 429 untried
    failed_sign_ins_per_minute_total: int = 100    # from all addresses together (a guesser with many)
    metrics_token: str | None = None               # None: /metrics answers loopback clients only
    public_url: str | None = None                  # the address platforms reach (LTI); None: the request's own
    lti_scores_every: float = 2.0                  # seconds between an API process's looks at the LTI score outbox
    lti_score_retry: float = 10.0                  # seconds after a platform's first refusal, doubling to an hour
    lti_jwks_timeout: float = 5.0                  # seconds a platform's JWKS fetch may take
    lti_jwks_refetch_after: float = 10.0           # an unknown kid fetches the JWKS again no sooner than this

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
            allowed_hosts=allowed_hosts(os.environ.get("GRADER_ALLOWED_HOSTS")),
            max_body_bytes=int(_bounded("GRADER_MAX_BODY_BYTES", 64 * 1024, 1024, "bytes; uploads have their own")),
            intake_seconds=_bounded("GRADER_INTAKE_SECONDS", 10.0, 0.5, "seconds to check one upload"),
            grader=Settings.from_env(),
            failed_sign_ins_per_minute=_int("GRADER_FAILED_SIGN_INS_PER_MINUTE", 10),
            failed_sign_ins_per_minute_total=_int("GRADER_FAILED_SIGN_INS_PER_MINUTE_TOTAL", 100),
            metrics_token=os.environ.get("GRADER_METRICS_TOKEN") or None,
            public_url=(os.environ.get("GRADER_PUBLIC_URL") or "").rstrip("/") or None,
            lti_scores_every=_bounded("GRADER_LTI_SCORES_EVERY", 2.0, 0.1, "seconds between looks at the outbox"),
            lti_score_retry=_bounded("GRADER_LTI_SCORE_RETRY", 10.0, 0.1, "seconds before a refused score's retry"),
            lti_jwks_timeout=_bounded("GRADER_LTI_JWKS_TIMEOUT", 5.0, 0.1, "seconds a JWKS fetch may take"),
            lti_jwks_refetch_after=_bounded("GRADER_LTI_JWKS_REFETCH_AFTER", 10.0, 1.0,
                                            "seconds between fetches for unknown kids"),
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
            "GRADER_ALLOWED_HOSTS": ",".join(self.allowed_hosts),   # the API process: its bind address too
        }
        if self.broker_url:
            env["GRADER_BROKER_URL"] = self.broker_url
        return env


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'grader.sqlite3'}"
