"""Failed checks grouped by cause, so feedback reads in one screen: checks of a unit that failed with the same
message (its numbers and shapes aside) at the same place in the notebook are one entry, named once ("W1, b1,
W2, b2, and their second-call and large twins (12 checks)") with the message, the line and each diagnosis
once. Pure functions over the JSON report's check dicts (the pages read those; the CLI's table too)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader import catalogue

_FIGURES = re.compile(r"[\d(), .]+")   # what differs between twins' messages: sizes, shapes, measured values
SHOWN = 4                              # names a label lists before "and 8 more" (when they have no twin pattern)


@dataclass(frozen=True)
class Cause:
    names: tuple[str, ...]          # the failed checks' names (the variant after "/" aside), in the report's order
    count: int                      # how many checks failed so
    message: str                    # the first check's message, in the language asked for
    where: dict | None              # {"cell", "line", "text"}: the student's line
    diagnoses: tuple[dict, ...]     # the distinct {"id", "message"} recognised behind these checks


def _key(check: dict) -> tuple:
    where = check.get("where") or {}
    english = (check.get("messages") or {}).get("en") or check.get("message", "")
    return _FIGURES.sub("#", english), where.get("cell"), where.get("line")


def _diagnosis(check: dict) -> dict | None:
    found = check.get("diagnosis")
    return found if isinstance(found, dict) and found.get("message") else None


def group(checks: list[dict], lang: str | None = None) -> list[Cause]:
    """The failed checks among `checks`, one Cause per message and place, in the order each first failed."""
    groups: dict[tuple, list[dict]] = {}
    for check in checks:
        if not check.get("passed"):
            groups.setdefault(_key(check), []).append(check)
    causes = []
    for same in groups.values():
        first = same[0]
        diagnoses = {d["id"]: d for d in map(_diagnosis, same) if d is not None}
        causes.append(Cause(tuple(dict.fromkeys(str(c.get("name", "?")).split("/")[0] for c in same)), len(same),
                            (first.get("messages") or {}).get(lang or "") or first.get("message", ""),
                            first.get("where"), tuple(diagnoses.values())))
    return causes


def twins(names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The base names and the suffixes every base has a twin for (`W1` and `W1_large`: suffix `large`);
    no suffixes unless the names are exactly every base with every suffix."""
    bases = [n for n in names if not any(n.startswith(f"{b}_") for b in names if b != n)]
    suffixes = list(dict.fromkeys(n[len(b) + 1:] for n in names for b in bases if n.startswith(f"{b}_")))
    if not suffixes or len(bases) * (len(suffixes) + 1) != len(names) or \
            {f"{b}_{s}" for b in bases for s in suffixes} | set(bases) != set(names):
        return list(names), []
    return bases, suffixes


def label(cause: Cause, lang: str) -> str:
    """How a cause's checks are named: one check by its name; several as "W1, b1 (2 checks)",
    "W1, b1, and their large twins (4 checks)" or, past SHOWN names, "a, b, c, d and 8 more (12 checks)"."""
    if cause.count == 1:
        return cause.names[0]
    bases, suffixes = twins(cause.names)
    if not suffixes and len(bases) > SHOWN:
        return catalogue.text("messages", "cause_some", lang) % {
            "names": ", ".join(bases[:SHOWN]), "more": len(bases) - SHOWN, "count": cause.count}
    if not suffixes:
        return catalogue.text("messages", "cause_checks", lang) % {"names": ", ".join(bases),
                                                                    "count": cause.count}
    joined = catalogue.text("messages", "cause_twin_join", lang).join(s.replace("_", "-") for s in suffixes)
    return catalogue.text("messages", "cause_twins", lang) % {"names": ", ".join(bases), "twins": joined,
                                                               "count": cause.count}
