"""Notebook view: a submitted notebook as sanitised HTML for the instructor (nbconvert), outputs capped,
the cells where checks failed marked.

The notebook is hostile content. Outputs are reduced to passive types (no JavaScript, no widgets),
capped in size, then the whole HTML is cleaned with nh3 (no script, no event handlers, no styles,
links only within the page, images only as data: URLs). The page that shows it serves it in a
sandboxed iframe under a Content-Security-Policy that allows no script and nothing from outside.
"""

from __future__ import annotations

import html
import secrets
import threading
import warnings
from dataclasses import dataclass

import nbformat
import nh3
from nbconvert import HTMLExporter

PASSIVE = ("text/html", "text/markdown", "text/latex", "image/png", "image/jpeg", "image/svg+xml", "text/plain")
MAX_OUTPUTS_PER_CELL = 8
MAX_TEXT = 4000           # characters of one text output
MAX_IMAGE = 512 * 1024    # bytes of one base64 image
IMAGE_TYPES = ("data:image/png;", "data:image/jpeg;", "data:image/gif;", "data:image/svg+xml;")

_exporter_lock = threading.Lock()
_exporter: HTMLExporter | None = None


@dataclass(frozen=True)
class Marks:
    """What to say above a code cell: the failed checks that point at it, by the cell's label."""

    by_cell: dict[str, list[str]]
    heading: str          # e.g. "a check failed here"
    truncated: str        # e.g. "[output truncated]"


def labels(nb: nbformat.NotebookNode) -> dict[int, str]:
    """Each code cell's label as the grader names it (grader.intake.Cell.label): In [n], or cell k."""
    return {i: f"In [{c.execution_count}]" if c.get("execution_count") is not None else f"cell {i + 1}"
            for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"}


def render(blob: bytes, marks: Marks) -> str | None:
    """The notebook's cells as a sanitised HTML fragment; None if it is not a readable notebook."""
    try:
        nb = nbformat.reads(blob.decode("utf-8"), as_version=4)
    except Exception:  # noqa: BLE001 - intake already told the student; the page says it cannot be shown
        return None
    cells = []
    names = labels(nb)
    for i, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "code":
            failed = marks.by_cell.get(names[i], [])
            if failed:
                items = "".join(f"<li>{html.escape(f)}</li>" for f in failed)
                cells.append(nbformat.v4.new_raw_cell(
                    f'<div class="failed-mark"><strong>{html.escape(marks.heading)}</strong><ul>{items}</ul></div>',
                    metadata={"raw_mimetype": "text/html"}))
            cell.outputs = _capped(cell.get("outputs", []), marks.truncated)
        elif cell.get("cell_type") == "raw":
            cell.metadata.pop("raw_mimetype", None)   # a student's raw cell is shown as text, never as HTML
            cell.metadata.pop("format", None)
        cell.pop("attachments", None)
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return sanitise(_export(nb))


def _export(nb: nbformat.NotebookNode) -> str:
    global _exporter
    with _exporter_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")   # e.g. "IPython3 lexer unavailable"
        if _exporter is None:
            _exporter = HTMLExporter(template_name="basic")
        body, _ = _exporter.from_notebook_node(nb)
    return body


def _capped(outputs: list, truncated: str) -> list:
    """At most MAX_OUTPUTS_PER_CELL outputs, each cut to passive types and a bounded size."""
    kept = []
    for out in outputs[:MAX_OUTPUTS_PER_CELL]:
        kind = out.get("output_type")
        if kind == "stream":
            out["text"] = _cut(str(out.get("text", "")), truncated)
        elif kind == "error":
            out["traceback"] = [_cut("\n".join(map(str, out.get("traceback", []))), truncated)]
        elif kind in ("display_data", "execute_result"):
            data = {k: v for k, v in out.get("data", {}).items() if k in PASSIVE}
            for key, value in list(data.items()):
                text = "".join(value) if isinstance(value, list) else str(value)
                limit = MAX_IMAGE if key.startswith("image/") else MAX_TEXT * 5
                data[key] = text if len(text) <= limit else None
            out["data"] = {k: v for k, v in data.items() if v is not None} or {"text/plain": truncated}
            out["metadata"] = {}
        else:
            continue
        kept.append(out)
    if len(outputs) > MAX_OUTPUTS_PER_CELL:
        kept.append(nbformat.v4.new_output("stream", name="stdout", text=truncated))
    return kept


def _cut(text: str, truncated: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n" + truncated


def _attribute(tag: str, attr: str, value: str) -> str | None:
    """Links stay within the page; images only as inline data (nothing is fetched from anywhere)."""
    if tag == "a" and attr == "href":
        return value if value.startswith("#") else None
    if tag == "img" and attr == "src":
        return value if value.lower().startswith(IMAGE_TYPES) else None
    return value


def sanitise(fragment: str) -> str:
    tags = (nh3.ALLOWED_TAGS - {"map", "area"}) | {"div", "span", "pre", "code", "img", "table", "tfoot"}
    attributes = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = {"class"}
    return nh3.clean(fragment, tags=tags, attributes=attributes, attribute_filter=_attribute,
                     url_schemes={"data"}, link_rel="noopener noreferrer", strip_comments=True)


def document(fragment: str | None, lang: str, css: str, unreadable: str) -> tuple[str, str]:
    """(full HTML document, its Content-Security-Policy): no script at all, styles only by nonce."""
    nonce = secrets.token_urlsafe(16)
    body = fragment if fragment is not None else f"<p>{html.escape(unreadable)}</p>"
    page = (f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<style nonce="{nonce}">{css}</style></head><body>{body}</body></html>')
    csp = (f"default-src 'none'; img-src data:; style-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; "
           f"frame-ancestors 'self'; sandbox")
    return page, csp
