"""Written parts: the markdown answers an assignment asks for (感想, 考察, ...), found in a notebook by their
headings (the spec's `[manual] headings`, read by grader.spec)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Answer:
    heading: str
    text: str


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
