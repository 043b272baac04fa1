"""Dates and late work: where a moment falls in an offering's dates (a student's own, with an extension), how
many started days late a submission is, and what its score counts after the penalty. Pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

DAY = timedelta(days=1)
BEFORE, OPEN, LATE, CLOSED = "before", "open", "late", "closed"   # a moment's phase in an offering's dates


@dataclass(frozen=True)
class Dates:
    """An offering's dates as they hold for one student (None: no such limit): opens, due, and the close."""

    opens: datetime | None
    due: datetime | None
    late_until: datetime | None

    @property
    def closes(self) -> datetime | None:
        """The last moment an upload is taken: the close, or the due time when no late period is set."""
        return self.late_until or self.due


def own_dates(offering: Dates, due: datetime | None = None, late_until: datetime | None = None) -> Dates:
    """A student's dates: the offering's, with their extension's due and close where it sets them (an
    extension of the due time alone moves the close with it when the offering has no late period)."""
    if due is None and late_until is None:
        return offering
    new_due = due or offering.due
    close = late_until or max((d for d in (offering.late_until, new_due) if d is not None), default=None)
    return Dates(offering.opens, new_due, close)


def in_order(*moments: datetime | None) -> bool:
    """Whether the dates that are set come in order (opens <= due <= late_until)."""
    present = [m for m in moments if m is not None]
    return present == sorted(present)


def phase(at: datetime, dates: Dates) -> str:
    """BEFORE the opening, OPEN until due, LATE until the close, then CLOSED."""
    if dates.opens is not None and at < dates.opens:
        return BEFORE
    if dates.due is None or at <= dates.due:
        return OPEN
    closes = dates.closes
    return LATE if closes is not None and at <= closes else CLOSED


def late_days(received: datetime, due: datetime | None) -> int:
    """Started days after the due time (0 when on time): a second late is one day, 24 h and a second two."""
    if due is None or received <= due:
        return 0
    return math.ceil((received - due) / DAY)


def penalty(late: int, per_day: float, max_score: float) -> float:
    """Points taken for `late` started days: that many times the offering's fraction of the maximum."""
    return late * per_day * max_score


def counted_score(raw: float, late: int, per_day: float, max_score: float) -> float:
    """What a submission's score counts: `max(0, raw - late_days x per_day x max_score)`."""
    return max(0.0, raw - penalty(late, per_day, max_score))
