"""Opening the records at start on the API side: the data directory kept private, migrate, register the
assignments, write the shared configuration, make sure an instructor token exists, and the key that signs the
pages' session cookies."""

from __future__ import annotations

import hashlib
from pathlib import Path

from service import assignments, principals, queue, shared
from service.db import make_engine, migrate
from service.settings import ServiceSettings
from service.store import Store

PRIVATE_UMASK = 0o077   # `grader serve` and the worker set it: what they create is their user's alone


def private_data_dir(data_dir: Path) -> None:
    """The data directory 0700 and the files in it 0600, those made before this rule included: it holds
    every notebook, grade and token hash (SQLite and its -wal/-shm, which SQLite creates with the
    database's mode), the private broker's files."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for path in data_dir.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)


def open_store(settings: ServiceSettings) -> Store:
    """The store on a migrated database with the assignments folder registered (idempotent); every start of the
    API side (the API, `grader serve`, `grader migrate`) comes here first, so settings unsafe for these
    assignments stop it here. Workers never do: they read what this wrote (workers/app.py)."""
    specs = assignments.specs(settings.assignments_dir)
    queue.refuse_short_requeue(settings.requeue_after, {n: a.limits.wall_seconds for n, a in specs.items()})
    private_data_dir(settings.data_dir)
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = Store(engine)
    assignments.register(store, settings.assignments_dir)
    return store


def open_shared(settings: ServiceSettings) -> tuple[Store, ServiceSettings]:
    """`open_store`, then this side's settings written as the shared configuration and returned as they stand."""
    store = open_store(settings)
    return store, shared.publish(store, settings)


def ensure_instructor(store: Store, settings: ServiceSettings) -> str | None:
    """Install GRADER_INSTRUCTOR_TOKEN's hash, or generate a token at first start; returns a new token to print.
    A changed token ends every instructor session signed in with the old one."""
    if settings.instructor_token:
        digest = principals.token_hash(settings.instructor_token)
        if store.credential(principals.INSTRUCTOR) != digest:
            store.set_credential(principals.INSTRUCTOR, digest)
            store.end_sessions(principals.INSTRUCTOR)
        return None
    if store.credential(principals.INSTRUCTOR) is not None:
        return None
    token = principals.new_token()
    store.set_credential(principals.INSTRUCTOR, principals.token_hash(token))
    return token


def cookie_key(settings: ServiceSettings) -> bytes:
    """The digest of the shared session secret (GRADER_WEB_SECRET, else the one made at first start and kept in
    the database), so sessions survive a restart and every API machine accepts the others' cookies."""
    if not settings.web_secret:
        raise RuntimeError("no web secret: open the settings with bootstrap.open_shared first")
    return hashlib.sha256(settings.web_secret.encode()).digest()
