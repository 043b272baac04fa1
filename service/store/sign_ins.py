"""Sign-in state every API process shares: each principal's session generation and the failed token
attempts the guessing throttle counts (in the database, so the limits hold however many processes answer)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from service.clocks import database_now
from service.models import SessionGeneration, SignInFailure

FAILURE_WINDOW = timedelta(minutes=1)   # failed sign-in attempts older than this no longer count


def end_sessions(s: Session, principal: str) -> int:
    """Raise the principal's generation inside the caller's transaction (a new token ends the old sessions
    together with it)."""
    row = s.get(SessionGeneration, principal) or SessionGeneration(principal=principal, generation=0)
    row.generation += 1
    s.add(row)
    return row.generation


class SignInRecords:
    sessions: sessionmaker[Session]

    def session_generation(self, principal: str) -> int:
        with self.sessions() as s:
            row = s.get(SessionGeneration, principal)
            return row.generation if row else 0

    def end_sessions(self, principal: str) -> int:
        """Raise the principal's generation: every session cookie issued before is refused from now on."""
        with self.sessions.begin() as s:
            return end_sessions(s, principal)

    def recent_failures(self, address: str) -> tuple[list[datetime], list[datetime], datetime]:
        """When the failed attempts of the last minute were made: from `address`, and from everywhere
        (oldest first; at most the newest few hundred of each, enough for any limit), and the database's time
        now (every API machine writes and reads these times: one clock for them all)."""
        with self.sessions() as s:
            clock = database_now(s)

            def times(*where) -> list[datetime]:
                newest = select(SignInFailure.at).where(SignInFailure.at >= clock - FAILURE_WINDOW, *where)
                return sorted(s.scalars(newest.order_by(SignInFailure.at.desc()).limit(1000)))
            return times(SignInFailure.address == address), times(), clock

    def record_failure(self, address: str) -> None:
        """One more failed attempt from `address`; attempts older than the window are forgotten."""
        with self.sessions.begin() as s:
            clock = database_now(s)
            s.execute(delete(SignInFailure).where(SignInFailure.at < clock - FAILURE_WINDOW))
            s.add(SignInFailure(address=address[:100], at=clock))
