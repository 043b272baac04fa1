"""Written parts: the markdown answers an assignment asks for (感想, 考察, ...), found by their headings.

An assignment may set `[manual] points` and `headings` in its assignment.toml; without them the parts
are the usual reflection headings and are worth DEFAULT_POINTS.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat

DEFAULT_HEADINGS = ("感想", "考察", "Reflection", "Discussion", "소감", "고찰", "心得", "讨论")  # ja, en, ko, zh
DEFAULT_POINTS = 5.0
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class WrittenSpec:
    points: float
    headings: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    heading: str
    text: str


@functools.lru_cache(maxsize=16)
def spec_for(directory: Path) -> WrittenSpec:
    manual = tomllib.loads((directory / "assignment.toml").read_text(encoding="utf-8")).get("manual", {})
    return WrittenSpec(float(manual.get("points", DEFAULT_POINTS)),
                       tuple(manual.get("headings", DEFAULT_HEADINGS)))


def answers(blob: bytes, headings: tuple[str, ...]) -> list[Answer]:
    """Each markdown section under a wanted heading: the text below it, up to the next heading or code cell."""
    try:
        nb = nbformat.reads(blob.decode("utf-8"), as_version=4)
    except Exception:  # noqa: BLE001 - a notebook the grader could not read has no answers to show
        return []
    found: list[Answer] = []
    current: Answer | None = None
    wanted = tuple(h.lower() for h in headings)
    for cell in nb.cells:
        if cell.get("cell_type") != "markdown":
            current = None
            continue
        for block in re.split(r"(?=^\s{0,3}#{1,6}\s)", str(cell.get("source", "")), flags=re.MULTILINE):
            match = _HEADING.match(block)
            if match:
                title = match.group(1)
                current = Answer(title, "") if any(w in title.lower() for w in wanted) else None
                if current is not None:
                    found.append(current)
                block = block[match.end():]
            if current is not None and block.strip():
                found[-1] = current = Answer(current.heading, (current.text + "\n\n" + block.strip()).strip())
    return found
