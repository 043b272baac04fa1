"""Renderings' records: what pages show of a submission that is costly to make, stored once, read by every view."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.clocks import now
from service.models import Rendering


class RenderingRecords:
    sessions: sessionmaker[Session]

    def rendering(self, submission_id: str, name: str) -> Rendering | None:
        with self.sessions() as s:
            return s.get(Rendering, (submission_id, name))

    def save_rendering(self, submission_id: str, name: str, made_from: str, body: str) -> None:
        """Insert or replace one rendering. Each is complete on its own: when another process inserted the
        same one first, its copy stands."""
        try:
            with self.sessions.begin() as s:
                s.merge(Rendering(submission_id=submission_id, name=name, made_from=made_from, body=body,
                                  made_at=now()))
        except IntegrityError:
            pass
