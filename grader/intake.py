"""Notebook intake: bytes in, a validated list of cells out, or a clear rejection."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.validator import get_validator

_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


class IntakeError(Exception):
    """A submission that cannot be graded at all; `code` selects the feedback message."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Cell:
    index: int                    # position among all cells, from 0
    execution_count: int | None   # the In [n] the student saw, if any
    source: str

    @property
    def label(self) -> str:
        """How the student knows this cell: `In [12]`, or its position if never run."""
        if self.execution_count is not None:
            return f"In [{self.execution_count}]"
        return f"cell {self.index + 1}"


@dataclass(frozen=True)
class Notebook:
    code_cells: tuple[Cell, ...]
    language: str                 # "ja" when the student writes Japanese, else "en"


def read_path(path: Path, max_bytes: int) -> Notebook:
    """Read at most max_bytes + 1 bytes, so a huge file is rejected without loading it."""
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    return read_bytes(data, max_bytes)


def read_bytes(data: bytes, max_bytes: int) -> Notebook:
    if len(data) > max_bytes:
        raise IntakeError("too_large", limit_mb=round(max_bytes / 2**20, 1))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntakeError("not_utf8", position=exc.start) from None
    try:
        raw = json.loads(text)
    except RecursionError:
        raise IntakeError("not_json", detail="nested too deeply") from None
    except ValueError as exc:
        raise IntakeError("not_json", detail=str(exc)[:200]) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("nbformat"), int) or raw["nbformat"] < 3:
        raise IntakeError("not_notebook", detail="no nbformat version (3 or 4) at top level")
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error={})
        get_validator(version=4, version_minor=nb.nbformat_minor, name="fastjsonschema").validate(nb)
    except Exception as exc:  # nbformat raises many kinds for malformed documents
        raise IntakeError("not_notebook", detail=str(exc).splitlines()[0][:200]) from None
    cells = tuple(
        Cell(i, c.get("execution_count"), _source(c.get("source", "")))
        for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"
    )
    return Notebook(cells, guess_language("".join(_source(c.get("source", "")) for c in nb.cells)))


def guess_language(text: str) -> str:
    """Feedback in Japanese for a student who writes Japanese (in markdown or comments)."""
    return "ja" if _JAPANESE.search(text) else "en"


def _source(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else str(source)
