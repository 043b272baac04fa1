"""Written parts: the markdown answers an assignment asks for (感想, 考察, ...), found in a notebook by their
headings (the spec's `[manual] headings`, read by grader.spec).

Student text is hostile: it is read line by line with string methods only (no pattern that can
backtrack), each line cut at MAX_LINE characters, each answer at MAX_ANSWER, at most MAX_CELLS cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.web.notebook_view import MAX_LINE, heading, read, text

MAX_ANSWER = 20_000    # characters of one answer shown
MAX_CELLS = 2000       # cells read


@dataclass(frozen=True)
class Answer:
    heading: str
    text: str


def answers(blob: bytes, headings: tuple[str, ...]) -> list[Answer]:
    """Each markdown section under a wanted heading: the text below it, up to the next heading or code cell."""
    found: list[Answer] = []
    current: list[str] | None = None
    wanted = tuple(h.lower() for h in headings)

    def close() -> None:
        if current is not None:
            text = "\n".join(current).strip()
            found[-1] = Answer(found[-1].heading, text[:MAX_ANSWER])

    for cell in (read(blob) or [])[:MAX_CELLS]:
        if cell.get("cell_type") != "markdown":
            close()
            current = None
            continue
        if current is not None:
            current.append("")
        for line in text(cell.get("source")).splitlines():
            line = line[:MAX_LINE]
            title = heading(line)
            if title is None:
                if current is not None and len(current) < MAX_ANSWER:
                    current.append(line)
                continue
            close()
            current = [] if any(w in title.lower() for w in wanted) else None
            if current is not None:
                found.append(Answer(title, ""))
    close()
    return found
