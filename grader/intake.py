"""Notebook intake: bytes in, a validated list of cells out, or a clear rejection."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import nbformat
from nbformat.reader import get_version
from nbformat.validator import get_validator

from grader.languages import detect_notebook

MAX_CELLS = 1000    # a coursework notebook has tens of cells; more is refused before the (slow) schema validation
MAX_DEPTH = 64      # nesting of lists and objects; Jupyter writes about 8, widget state a few more
_COMMENT_OR_STRING = re.compile(
    r'#[^\n]*'
    r'|"""[\s\S]*?"""'
    r"|'''[\s\S]*?'''"
    r'|"(?:\\.|[^"\\\n])*"'
    r"|'(?:\\.|[^'\\\n])*'"
)


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
    language: str                 # the language the student writes in (languages.detect_notebook)


def read_bytes(data: bytes, max_bytes: int, size: int | None = None) -> Notebook:
    """`size` is the real size when `data` was cut short (a refusal says how large the file is)."""
    size = max(size or 0, len(data))
    if size > max_bytes:
        raise oversize(size, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntakeError("not_utf8", position=exc.start) from None
    try:
        raw = json.loads(text)
    except RecursionError:
        raise IntakeError("too_deep") from None
    except json.JSONDecodeError as exc:
        raise IntakeError("not_json", line=exc.lineno, column=exc.colno) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("nbformat"), int) or raw["nbformat"] < 3:
        raise IntakeError("no_nbformat")
    _refuse_absurd(raw)
    try:
        nb = _as_version_4(raw)
        get_validator(version=4, version_minor=nb.nbformat_minor, name="fastjsonschema").validate(nb)
    except Exception as exc:  # nbformat raises many kinds for malformed documents
        raise IntakeError("not_notebook", detail=str(exc).splitlines()[0][:200]) from None
    cells = tuple(
        Cell(i, c.get("execution_count"), _source(c.get("source", "")))
        for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"
    )
    markdown = "\n".join(_source(c.get("source", "")) for c in nb.cells if c.get("cell_type") == "markdown")
    return Notebook(cells, detect_notebook(markdown, "\n".join(_code_prose(c) for c in nb.cells)))


def _as_version_4(raw: dict) -> nbformat.NotebookNode:
    """The parsed document as an nbformat 4 notebook, converted if older: what `nbformat.reads`
    does, without parsing the text a second time nor validating it with the slower validator
    (read_bytes validates once, with fastjsonschema)."""
    major, minor = get_version(raw)
    return nbformat.convert(nbformat.versions[major].to_notebook_json(raw, minor=minor), 4)


def _refuse_absurd(raw: dict) -> None:
    """Cheap caps before the full validation, whose cost grows with every cell and level: the cell count
    (nbformat 4 `cells`, or 3's `worksheets[].cells`) and the nesting depth, walked without recursion."""
    sheets = raw.get("worksheets") if isinstance(raw.get("worksheets"), list) else [raw]
    cells = sum(len(s["cells"]) for s in sheets if isinstance(s, dict) and isinstance(s.get("cells"), list))
    if cells > MAX_CELLS:
        raise IntakeError("too_many_cells", cells=cells, limit=MAX_CELLS)
    level: list = [raw]
    for _ in range(MAX_DEPTH):
        level = [child for node in level for child in (node.values() if isinstance(node, dict) else node)
                 if isinstance(child, (dict, list))]
        if not level:
            return
    raise IntakeError("too_deep")


def oversize(size: int, max_bytes: int) -> IntakeError:
    """The refusal of a file of `size` bytes (e.g. from Content-Length), with its size and the limit."""
    return IntakeError("too_large", size_mb=_megabytes(size, math.ceil), limit_mb=_megabytes(max_bytes, round))


def _megabytes(size: int, rounding: Callable[[float], int]) -> float:
    """MB with one decimal, rounded the given way (a file just over the limit must not look equal)."""
    return rounding(size / 2**20 * 10) / 10


def _code_prose(cell: dict) -> str:
    """What the student wrote in words in code: comments and string literals, not identifiers
    (a regular expression rather than `tokenize`: linear, and indifferent to magics or broken code)."""
    if cell.get("cell_type") != "code":
        return ""
    return "\n".join(m.group() for m in _COMMENT_OR_STRING.finditer(_source(cell.get("source", ""))))


def _source(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else str(source)
