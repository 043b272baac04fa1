"""The database: one engine per process (SQLite in WAL mode, or PostgreSQL via psycopg 3), migrated at start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 727_001  # PostgreSQL advisory lock id: one process migrates at a time
UNREACHABLE = (OperationalError, InterfaceError, DisconnectionError)   # the database, not the request, failed
# A machine cut off from the database learns it within half a minute (a stalled query or connect fails
# instead of waiting out TCP's quarter of an hour), and finds it again once the link is back.
_POSTGRES_TCP = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                 "keepalives_count": 3, "tcp_user_timeout": 30_000}


def make_engine(url: str) -> Engine:
    """An engine whose transactions serialize writers cleanly on either database."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=_POSTGRES_TCP)
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not pysqlite, open transactions (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn) -> None:
        # A deferred transaction that reads then writes can fail with "database is locked" without
        # waiting; taking the write lock up front makes writers queue behind busy_timeout instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision, or to `revision` (a previous release's schema,
    which the upgrade tests build); idempotent, safe from several processes."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()


def unmigrated(engine: Engine) -> str | None:
    """Why this database's schema is not the newest revision this code knows (None when it is): a worker
    refuses to start on it, since only the API side (`grader serve`, `grader migrate`) migrates."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return None
    return (f"the database's schema is at {current or 'nothing'}, this worker's code expects {head}: "
            "run `grader migrate` on the API side (or upgrade this machine's clone)")
