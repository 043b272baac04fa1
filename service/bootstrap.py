"""Opening the records at start: migrate, register the assignments, make sure an instructor token exists."""

from __future__ import annotations

from service import auth, course
from service.db import make_engine, migrate
from service.settings import ServiceSettings
from service.store import Store


def open_store(settings: ServiceSettings) -> Store:
    """The store on a migrated database with the assignments folder registered (idempotent)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = Store(engine)
    course.register(store, settings.assignments_dir)
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
