"""Opening the records at start: migrate, register the assignments, make sure an instructor token exists,
and the key that signs the pages' session cookies."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from service import assignments, auth, queue
from service.db import make_engine, migrate
from service.settings import ServiceSettings
from service.store import Store


def open_store(settings: ServiceSettings) -> Store:
    """The store on a migrated database with the assignments folder registered (idempotent); every start (API,
    worker, `grader serve`) comes here first, so settings unsafe for these assignments stop it here."""
    specs = assignments.specs(settings.assignments_dir)
    queue.refuse_short_requeue(settings.requeue_after, {n: a.limits.wall_seconds for n, a in specs.items()})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = Store(engine)
    assignments.register(store, settings.assignments_dir)
    return store


def ensure_instructor(store: Store, settings: ServiceSettings) -> str | None:
    """Install GRADER_INSTRUCTOR_TOKEN's hash, or generate a token at first start; returns a new token to print."""
    if settings.instructor_token:
        store.set_credential(auth.INSTRUCTOR, auth.token_hash(settings.instructor_token))
        return None
    if store.credential(auth.INSTRUCTOR) is not None:
        return None
    token = auth.new_token()
    store.set_credential(auth.INSTRUCTOR, auth.token_hash(token))
    return token


def cookie_key(settings: ServiceSettings) -> bytes:
    """GRADER_WEB_SECRET's digest, else a random key created once as `web-session.key` in the data
    directory (mode 0600), so sessions survive a restart."""
    if settings.web_secret:
        return hashlib.sha256(settings.web_secret.encode()).digest()
    path: Path = settings.data_dir / "web-session.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(32))
    return path.read_bytes()
