"""What an offering means for one student now: their own dates (with an extension), whether they may see it,
whether an upload is taken (403 saying when it opens or closed, in their language), and its dates as the API
and the pages show them (ISO 8601 UTC; the course's time zone for people)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import HTTPException

from grader import catalogue
from service import lateness
from service.models import DEFAULT_COURSE, Extension, Offering
from service.store import Store

OUT_OF_ORDER = "the dates must come in order: opens <= due <= late_until"


def dates(offering: Offering) -> lateness.Dates:
    return lateness.Dates(offering.opens, offering.due, offering.late_until)


def own_dates(store: Store, offering: Offering, student: str) -> lateness.Dates:
    """The offering's dates as they hold for this student (their extension, if any)."""
    extension = store.extension(offering.course, offering.assignment, student)
    if extension is None:
        return dates(offering)
    return lateness.own_dates(dates(offering), extension.due, extension.late_until)


def shown(at: datetime | None, time_zone: str) -> str:
    """A moment as people read it in the course's time zone: `2027-01-20 17:00 JST`."""
    return at.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M %Z") if at else ""


def shown_to(store: Store, offering: Offering, student: str) -> bool:
    """Whether an enrolled student sees the offering: once it opens, or before when it says so."""
    return offering.visible_before_opens or \
        lateness.phase(store.clock(), own_dates(store, offering, student)) != lateness.BEFORE


def for_student(store: Store, offering: Offering, student: str) -> dict:
    """The offering as a student's API answer: their own dates (ISO 8601 UTC), its policy, the phase now."""
    mine = own_dates(store, offering, student)
    at = store.clock()
    iso = {name: (d.isoformat() if d else None) for name, d in
           (("opens", mine.opens), ("due", mine.due), ("late_until", mine.closes))}
    return {"assignment": offering.assignment, **iso, "late_penalty_per_day": offering.late_penalty_per_day,
            "counts": offering.counts, "phase": lateness.phase(at, mine),
            "late_days_now": lateness.late_days(at, mine.due)}


def offering_of(store: Store, course: str, assignment: str) -> Offering | None:
    """The course's offering of the assignment; course `default` offers every registered assignment, without
    dates unless they were set (as before courses)."""
    offering = store.offering(course, assignment)
    if offering is None and course == DEFAULT_COURSE and store.assignment(assignment) is not None:
        return Offering(course=course, assignment=assignment, late_penalty_per_day=0.0, counts="latest",
                        visible_before_opens=False)
    return offering


def visible(store: Store, course: str, assignment: str, student: str) -> Offering:
    """The offering if this student may see it (enrolled; opened, or shown before it opens); 404 otherwise."""
    offering = offering_of(store, course, assignment)
    if offering is None or not store.enrolled(course, student) or not shown_to(store, offering, student):
        raise HTTPException(404, f"no assignment {assignment!r}")
    return offering


def admit(store: Store, course: str, assignment: str, student: str, lang: str) -> lateness.Dates:
    """The student's dates if an upload is taken now; else 404 (unseen), or 403 saying when it opens or closed
    (in the caller's language, in the course's time zone). Nothing is stored either way."""
    offering = visible(store, course, assignment, student)
    mine = own_dates(store, offering, student)
    phase = lateness.phase(store.clock(), mine)
    if phase in (lateness.OPEN, lateness.LATE):
        return mine
    zone = store.course(course).time_zone
    if phase == lateness.BEFORE:
        raise HTTPException(403, _said("offering_not_open", lang, opens=shown(mine.opens, zone)))
    raise HTTPException(403, _said("offering_closed", lang, closes=shown(mine.closes, zone)))


def change_dates(store: Store, course: str, assignment: str, actor: str, **fields: Any) -> Offering:
    """Set an offering's dates and policy (the API's and the staff pages' one way to): 422 when the dates are
    out of order; audited under `actor`."""
    if not lateness.in_order(fields.get("opens"), fields.get("due"), fields.get("late_until")):
        raise HTTPException(422, OUT_OF_ORDER)
    return store.set_offering(course, assignment, actor, **fields)


def grant_extension(store: Store, course: str, assignment: str, student: str, actor: str,
                    due: datetime | None, late_until: datetime | None) -> Extension:
    """A student's own due time and close on an offering: 404 for an offering or a student not in the course,
    422 when out of order; audited under `actor`."""
    if store.offering(course, assignment) is None:
        raise HTTPException(404, f"no assignment {assignment!r} in course {course!r}")
    if not store.enrolled(course, student):
        raise HTTPException(404, f"no student {student!r} in course {course!r}")
    if not lateness.in_order(due, late_until):
        raise HTTPException(422, OUT_OF_ORDER)
    return store.set_extension(course, assignment, student, actor, due=due, late_until=late_until)


def _said(key: str, lang: str, **facts: str) -> str:
    return catalogue.text("pages", key, lang) % facts


def page_facts(store: Store, course: str, assignment: str, student: str, attempts: list) -> dict | None:
    """What a student's assignment page says of the dates (None when the offering has none): the due time and
    the close in the course's time zone, the phase now, the time left until due, the penalty in percent; and
    per attempt (by submission id) its late days, the points taken and what it counts."""
    offering = offering_of(store, course, assignment)
    if offering is None:
        return None
    mine = own_dates(store, offering, student)
    per_day = offering.late_penalty_per_day
    late = {}
    for a in attempts:
        days = a.submission.late_days
        if a.result is not None and days:
            counted = lateness.counted_score(a.result.score, days, per_day, a.result.max_score)
            late[a.submission.id] = {"days": days, "penalty": f"{a.result.score - counted:g}",
                                     "counted": f"{counted:g}"}
    if mine.due is None and mine.closes is None:
        return {"late": late, "due": None}
    zone = store.course(course).time_zone
    at = store.clock()
    left = max(0, int(((mine.due or at) - at).total_seconds())) // 60
    return {"late": late, "due": shown(mine.due, zone), "closes": shown(mine.closes, zone),
            "phase": lateness.phase(at, mine), "penalty_pct": f"{per_day * 100:g}",
            "left": {"days": left // 1440, "hours": left // 60 % 24, "minutes": left % 60}}
