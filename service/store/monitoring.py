"""What operators and the queue see: worker heartbeats, queue position, counts by status, grading times."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from service.clocks import db_now
from service.models import QUEUED, Result, Submission, Worker

HEARTBEAT_SECONDS = 5.0                        # how often a worker says it is alive
LIVE_WORKER_SECONDS = 3 * HEARTBEAT_SECONDS    # silent for three beats: dead, and its attempts are taken over


class Monitoring:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]

    # --- workers -----------------------------------------------------------------------------------

    def heartbeat(self, name: str, concurrency: int, host: str = "", pid: int = 0, machine: str = "",
                  serves: list[str] | None = None, state: str = "ready") -> None:
        """Worker `name` (its unique id) is alive, on `host`, serving `serves` in the state `state`; by the
        database's clock. Workers silent for a day (killed, never said goodbye) are forgotten."""
        with self.sessions.begin() as s:
            s.execute(delete(Worker).where(Worker.seen_at < self.clock() - timedelta(days=1)))
            row = s.get(Worker, name)
            if row is None:
                row = Worker(name=name, started_at=db_now())
            row.concurrency, row.host, row.pid, row.machine = concurrency, host, pid, machine
            row.serves, row.state = serves, state
            row.seen_at = db_now()
            s.add(row)

    def forget_worker(self, name: str) -> None:
        with self.sessions.begin() as s:
            s.execute(delete(Worker).where(Worker.name == name))

    def live_workers(self) -> list[Worker]:
        """Workers that beat within LIVE_WORKER_SECONDS, by the database's clock."""
        since = self.clock() - timedelta(seconds=LIVE_WORKER_SECONDS)
        with self.sessions() as s:
            return list(s.scalars(select(Worker).where(Worker.seen_at >= since)))

    def live_worker(self, name: str) -> Worker | None:
        """Worker `name` if it beat within LIVE_WORKER_SECONDS."""
        return next((w for w in self.live_workers() if w.name == name), None)

    def workers(self) -> list[Worker]:
        """Every worker that ever beat (and was not forgotten), most recently seen first."""
        with self.sessions() as s:
            return list(s.scalars(select(Worker).order_by(Worker.seen_at.desc())))

    # --- the queue ---------------------------------------------------------------------------------

    def queue_position(self, submission: Submission) -> int:
        """How many submissions are ahead of this queued one (0: it is next), counted by the database."""
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(Submission).where(
                Submission.status == QUEUED, Submission.queued_at < submission.queued_at)) or 0

    def queued_times(self) -> list[datetime]:
        """When each queued submission was queued, earliest first (a position is a place in this list)."""
        with self.sessions() as s:
            return list(s.scalars(select(Submission.queued_at).where(Submission.status == QUEUED)
                                  .order_by(Submission.queued_at)))

    def typical_grading_seconds(self, recent: int = 20) -> float | None:
        with self.sessions() as s:
            times = list(s.scalars(select(Result.grading_seconds).order_by(Result.id.desc()).limit(recent)))
        return statistics.median(times) if times else None

    def status_counts(self) -> dict[str, int]:
        with self.sessions() as s:
            return dict(s.execute(select(Submission.status, func.count()).group_by(Submission.status)).all())

    def grading_seconds_histogram(self, bounds: tuple[float, ...]) -> tuple[list[int], float, int]:
        """Results graded within each bound (cumulative counts), the sum of their seconds, and how many there are."""
        within = [func.count(case((Result.grading_seconds <= b, 1))) for b in bounds]
        with self.sessions() as s:
            *counts, total, count = s.execute(select(*within, func.coalesce(func.sum(Result.grading_seconds), 0.0),
                                                     func.count(Result.id))).one()
        return list(counts), float(total), count

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.sessions() as s:
            s.execute(select(1))
