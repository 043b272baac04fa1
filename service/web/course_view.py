"""What the staff pages show of a course: an offering's dates as the consequences they have, in words, in the
course's time zone; the dates form's values in that zone and back; the audit log's entries with who by name.
Pure functions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from service.lateness import Dates
from service.models import AuditEntry, Offering, StaffMember
from service.offerings import dates, shown

ACTIONS = ("course", "staff", "token_rotation", "roster", "dates", "policy", "extension", "manual_grade",
           "regrade")   # what the audit log records; each has its words in the catalogue (`audit_<action>`)
Sentence = tuple[str, dict[str, str]]   # a catalogue key of the pages and its facts


def consequences(offering: Offering, zone: str) -> list[Sentence]:
    """What the offering's dates and policy mean for its students, one sentence each: when it opens (and
    whether they see it before), from when uploads are late and what a late day costs, when they are refused,
    and which submission counts."""
    said: list[Sentence] = []
    if offering.opens is not None:
        said.append(("opens_shown" if offering.visible_before_opens else "opens_hidden",
                     {"at": shown(offering.opens, zone)}))
    when = dates(offering)
    if when.due is None:
        said.append(("no_due", {}))
    else:
        said.extend(_late_work(when, offering.late_penalty_per_day, zone))
    said.append(("counts_best" if offering.counts == "best" else "counts_latest", {}))
    return said


def _late_work(when: Dates, per_day: float, zone: str) -> list[Sentence]:
    closes = when.closes
    if closes is None or closes <= when.due:
        return [("closes_at", {"at": shown(closes, zone)})]
    cost = ("late_day_costs", {"pct": f"{per_day * 100:g}"}) if per_day else ("late_costs_nothing", {})
    return [("late_after", {"at": shown(when.due, zone)}), cost, ("closes_at", {"at": shown(closes, zone)})]


def local_input(at: datetime | None, zone: str) -> str:
    """A stored moment as a datetime-local field's value in the course's time zone (`2027-01-20T17:00`)."""
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if at else ""


def from_local(value: str, zone: str) -> datetime | None:
    """A datetime-local field's value, read in the course's time zone (empty: no such limit); ValueError when it
    is not a date and time."""
    value = value.strip()
    if not value:
        return None
    if len(value) > 40:
        raise ValueError("not a date and time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        raise ValueError("a date and time without an offset: the course's time zone is meant")
    return moment.replace(tzinfo=ZoneInfo(zone))


@dataclass(frozen=True)
class AuditRow:
    at: str          # in the course's time zone
    who: str         # the staff member's name and their actor id (`Ito Aoi (instructor:ito)`)
    action: str      # one of ACTIONS, or the record's own word for anything newer
    subject: str
    before: str      # compact JSON, or "" when there was nothing
    after: str


def audit_rows(entries: list[AuditEntry], staff: list[StaffMember], zone: str) -> list[AuditRow]:
    """The audit log's entries as the page lists them, newest first as stored."""
    names = {f"{m.role}:{m.id}": m.name for m in staff}
    return [AuditRow(shown(e.at, zone), f"{names[e.actor]} ({e.actor})" if e.actor in names else e.actor,
                     e.action, e.subject, *map(_compact, changed(e.before, e.after))) for e in entries]


def changed(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Of a change's before and after, the fields it changed (both whole when either is not a record)."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return before, after
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _compact(facts: dict | None) -> str:
    return json.dumps(facts, ensure_ascii=False, sort_keys=True, separators=(", ", ": ")) if facts else ""
