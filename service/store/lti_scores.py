"""The score changes waiting for a platform (AGS), as an outbox: whatever changes a student's counted score on
an offering of a course an LMS launches (a result recorded or regraded, a manual grade, an offering's penalty
or policy, an extension) appends a change in that change's own transaction (a flush listener on the store's
sessions: no grading code names LTI, and nothing is lost between the change and its post). The sender takes an
offering's lease, then its due changes, and removes them once the platform took the score, or puts them off
with backoff; the lease keeps any other API machine off that offering meanwhile."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.clocks import database_now, db_now
from service.models import (
    Extension,
    LtiContext,
    LtiResourceLink,
    LtiScoreChange,
    LtiScoreLease,
    LtiUser,
    ManualGrade,
    Offering,
    Result,
    Submission,
)

EVERYONE = ""            # a change's student for every student of the offering (its penalty changed)
MAX_BACKOFF = timedelta(hours=1)


def _changed(session: Session) -> set[tuple[str, str, str]]:
    """(course, assignment, student) of each score this flush changes, before it is known which are LTI's."""
    found: set[tuple[str, str, str]] = set()
    for row in (*session.new, *session.dirty):
        if isinstance(row, Result):
            submission = session.get(Submission, row.submission_id)
            if submission is not None:
                found.add((submission.course, submission.assignment, submission.student))
        elif isinstance(row, ManualGrade):
            found.add((row.course, row.assignment, row.student))
        elif isinstance(row, Offering):
            found.add((row.course, row.assignment, EVERYONE))
        elif isinstance(row, Extension):
            found.add((row.course, row.assignment, row.student))
    return found


def _append_changes(session: Session, flush_context: object, instances: object) -> None:
    """The flush listener: a change row for each changed score of an offering a platform links to."""
    if not any(isinstance(r, Result | ManualGrade | Offering | Extension) for r in (*session.new, *session.dirty)):
        return
    with session.no_autoflush:
        changed = _changed(session)
        linked = {tuple(r) for r in session.execute(select(LtiResourceLink.course, LtiResourceLink.assignment).where(
            LtiResourceLink.course.in_({c for c, _, _ in changed})).distinct())} if changed else set()
    at = db_now()      # any API machine or worker appends, any API machine sends: the database's clock
    session.add_all(LtiScoreChange(course=c, assignment=a, student=s, changed_at=at, next_at=at, attempts=0)
                    for c, a, s in changed if (c, a) in linked)


def watch_score_changes(sessions: sessionmaker[Session]) -> None:
    event.listen(sessions, "before_flush", _append_changes)


class LtiScoreRecords:
    sessions: sessionmaker[Session]

    def due_score_changes(self, limit: int = 500, offering: tuple[str, str] | None = None) -> list[LtiScoreChange]:
        """The changes due now (their next try has come), oldest first; only this (course, assignment)'s if given."""
        query = select(LtiScoreChange).where(LtiScoreChange.next_at <= db_now())
        if offering is not None:
            query = query.where(LtiScoreChange.course == offering[0], LtiScoreChange.assignment == offering[1])
        with self.sessions() as s:
            return list(s.scalars(query.order_by(LtiScoreChange.id).limit(limit)))

    def take_score_lease(self, course: str, assignment: str, holder: str, hold: timedelta) -> bool:
        """Whether `holder` now sends this offering's scores, for `hold` from now (the database's clock): one
        UPDATE where the lease has run out or is already its own (a second machine's waits for the first's and
        then finds it taken). The lease's row is made the first time; of two makers at once, the loser's
        INSERT fails and its second try updates the winner's row."""
        for _ in range(2):
            try:
                with self.sessions.begin() as s:
                    at = database_now(s)
                    if s.get(LtiScoreLease, (course, assignment)) is None:
                        s.add(LtiScoreLease(course=course, assignment=assignment, holder="", until=at))
                        s.flush()
                    return s.execute(update(LtiScoreLease).where(
                        LtiScoreLease.course == course, LtiScoreLease.assignment == assignment,
                        or_(LtiScoreLease.until <= at, LtiScoreLease.holder == holder))
                        .values(holder=holder, until=at + hold)).rowcount == 1
            except IntegrityError:
                continue
        return False

    def release_score_lease(self, course: str, assignment: str, holder: str) -> None:
        """The holder is done with the offering: the next look, by any machine, may take it at once."""
        with self.sessions.begin() as s:
            s.execute(update(LtiScoreLease).where(LtiScoreLease.course == course, LtiScoreLease.assignment ==
                                                  assignment, LtiScoreLease.holder == holder).values(until=db_now()))

    def score_leases(self) -> list[tuple[str, str, str]]:
        """(course, assignment, holder) of each offering being sent now."""
        with self.sessions() as s:
            return [tuple(r) for r in s.execute(select(LtiScoreLease.course, LtiScoreLease.assignment,
                                                       LtiScoreLease.holder).where(LtiScoreLease.until > db_now()))]

    def score_changes_sent(self, ids: Iterable[int], course: str) -> None:
        """The platform took these scores: their changes are done, the course's sending time is now."""
        with self.sessions.begin() as s:
            s.execute(delete(LtiScoreChange).where(LtiScoreChange.id.in_(list(ids))))
            s.execute(update(LtiContext).where(LtiContext.course == course).values(scores_sent_at=db_now()))

    def score_changes_failed(self, ids: Iterable[int], error: str, attempts: int, first: timedelta) -> datetime:
        """Put these changes off: `first` after a first failure, doubling to an hour; the next try's time. (The
        doubling stops at 2**30: a platform down for days does not overflow the delay.)"""
        with self.sessions.begin() as s:
            later = database_now(s) + min(first * 2 ** min(max(attempts - 1, 0), 30), MAX_BACKOFF)
            s.execute(update(LtiScoreChange).where(LtiScoreChange.id.in_(list(ids)))
                      .values(attempts=attempts, next_at=later, error=error[:500]))
        return later

    def score_sending(self, course: str) -> tuple[datetime | None, int]:
        """When the platform last took a score of the course, and how many students' scores wait."""
        with self.sessions() as s:
            sent = s.scalar(select(func.max(LtiContext.scores_sent_at)).where(LtiContext.course == course))
            waiting = s.scalar(select(func.count()).select_from(
                select(LtiScoreChange.assignment, LtiScoreChange.student).where(LtiScoreChange.course == course)
                .distinct().subquery()))
        return sent, waiting or 0

    def lti_links(self, course: str, assignment: str) -> list[LtiResourceLink]:
        """The platforms' links that open this offering (each with its line item, once known)."""
        with self.sessions() as s:
            return list(s.scalars(select(LtiResourceLink).where(LtiResourceLink.course == course,
                                                                LtiResourceLink.assignment == assignment)))

    def set_lineitem(self, issuer: str, link_id: str, url: str) -> None:
        with self.sessions.begin() as s:
            link = s.get(LtiResourceLink, (issuer, link_id))
            if link is not None:
                link.lineitem_url = url

    def lti_subject(self, issuer: str, student: str) -> str | None:
        """The student's user id at the platform (the sub of their launches)."""
        with self.sessions() as s:
            return s.scalar(select(LtiUser.subject).where(LtiUser.issuer == issuer, LtiUser.student == student))
