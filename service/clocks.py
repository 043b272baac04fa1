"""Times on both databases: aware UTC columns, this machine's clock, and the database's clock (which every time
that several machines write and compare must use)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, TypeDecorator, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both databases (SQLite keeps no time zone, so it stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def now() -> datetime:
    """This machine's clock: for what only this machine compares (an upload's own timing, a page's dates)."""
    return datetime.now(UTC)


class db_now(FunctionElement):  # noqa: N801 - reads as the SQL function it is
    """The database's clock, for every time that machines write and other machines compare (queued, started,
    finished, a worker's last beat): one clock for all of them, whatever each host's own says."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(db_now)
def _db_now(element, compiler, **kw) -> str:
    return "statement_timestamp()"


@compiles(db_now, "sqlite")
def _db_now_sqlite(element, compiler, **kw) -> str:
    # SQLite is one machine's file: its clock is the database's. Written as SQLAlchemy writes a bound datetime
    # (six fraction digits): SQLite compares the text, and "…01.123" would sort before "…01.123000", itself.
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


def database_now(session: Session) -> datetime:
    """The database's clock read in `session`'s transaction: the moment its cross-machine times are set from."""
    return session.scalar(select(db_now()))
