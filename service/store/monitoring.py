"""What operators and the queue see: worker heartbeats, queue position, counts by status, grading times."""

from __future__ import annotations

import statistics
from datetime import timedelta

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from service.models import QUEUED, Result, Submission, Worker, now

LIVE_WORKER_SECONDS = 45.0   # a worker not seen for this long is counted dead (it beats every 10 s)


class Monitoring:
    sessions: sessionmaker[Session]

    # --- workers -----------------------------------------------------------------------------------

    def heartbeat(self, name: str, concurrency: int) -> None:
        """This worker is alive; workers silent for a day (killed, never said goodbye) are forgotten."""
        with self.sessions.begin() as s:
            s.execute(delete(Worker).where(Worker.seen_at < now() - timedelta(days=1)))
            row = s.get(Worker, name)
            if row is None:
                row = Worker(name=name, concurrency=concurrency, started_at=now())
            row.seen_at = now()
            s.add(row)

    def forget_worker(self, name: str) -> None:
        with self.sessions.begin() as s:
            s.execute(delete(Worker).where(Worker.name == name))

    def live_workers(self) -> list[Worker]:
        since = now() - timedelta(seconds=LIVE_WORKER_SECONDS)
        with self.sessions() as s:
            return list(s.scalars(select(Worker).where(Worker.seen_at >= since)))

    def workers(self) -> list[Worker]:
        """Every worker that ever beat (and was not forgotten), most recently seen first."""
        with self.sessions() as s:
            return list(s.scalars(select(Worker).order_by(Worker.seen_at.desc())))

    # --- the queue ---------------------------------------------------------------------------------

    def queue_position(self, submission: Submission) -> int:
        """How many submissions are ahead of this queued one (0: it is next)."""
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(Submission).where(
                Submission.status == QUEUED, Submission.queued_at < submission.queued_at)) or 0

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
