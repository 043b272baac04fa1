"""Dates and late work as a student meets them: when an upload is taken, how late it is, what it counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.lateness import BEFORE, CLOSED, LATE, OPEN, Dates, counted_score, late_days, own_dates, phase

DUE = datetime(2027, 1, 20, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DATES = Dates(opens=DUE - timedelta(days=7), due=DUE, late_until=DUE + timedelta(days=3))


def test_an_upload_is_refused_before_the_opening_and_after_the_close_and_late_between_due_and_close() -> None:
    assert phase(DATES.opens - SECOND, DATES) == BEFORE
    assert phase(DATES.opens, DATES) == OPEN
    assert phase(DUE, DATES) == OPEN
    assert phase(DUE + SECOND, DATES) == LATE
    assert phase(DATES.late_until, DATES) == LATE
    assert phase(DATES.late_until + SECOND, DATES) == CLOSED


def test_without_a_late_period_the_due_time_is_the_close_and_without_dates_it_is_always_open() -> None:
    assert phase(DUE + SECOND, Dates(None, DUE, None)) == CLOSED
    assert phase(datetime(1999, 1, 1, tzinfo=UTC), Dates(None, None, None)) == OPEN


def test_late_days_count_every_started_day_after_the_due_time() -> None:
    assert late_days(DUE, DUE) == 0
    assert late_days(DUE + SECOND, DUE) == 1
    assert late_days(DUE + timedelta(days=1), DUE) == 1
    assert late_days(DUE + timedelta(days=1) + SECOND, DUE) == 2
    assert late_days(DUE + SECOND, None) == 0


def test_the_penalty_takes_a_fraction_of_the_maximum_per_late_day_and_never_goes_below_zero() -> None:
    assert counted_score(9.0, 0, 0.1, 10.0) == 9.0
    assert counted_score(9.0, 2, 0.1, 10.0) == 7.0
    assert counted_score(3.0, 5, 0.1, 10.0) == 0.0


def test_an_extension_moves_a_students_own_dates_and_no_one_elses() -> None:
    later = DUE + timedelta(days=5)
    mine = own_dates(DATES, due=later)
    assert (mine.due, mine.late_until) == (later, later)      # the old close is before the new due: it moves
    assert phase(later, mine) == OPEN and phase(later + SECOND, mine) == CLOSED
    assert own_dates(DATES, late_until=DUE + timedelta(days=10)).due == DUE
    assert own_dates(DATES) is DATES
    assert own_dates(DATES, due=DUE + timedelta(hours=1)).late_until == DATES.late_until   # the close still holds
