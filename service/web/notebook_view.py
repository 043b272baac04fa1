"""Notebook view: a submitted notebook as sanitised HTML for the instructor, one cell at a time, bounded.

The notebook is hostile content. `render` makes a language-neutral view (a list of rendered cells),
once per submission and outside any request: `made_apart` runs it in a child process of its own under
a time limit (service/web/views.py stores the result). `page` assembles a stored view per request
with the marks of the failed checks and the page's words: string joins only.

No cell can reach another: each is parsed and cleaned by nh3 on its own (an unclosed `<style>`,
a lone `<script>`, a foreign-content trick stays inside its cell or goes); no student `class`,
`id` or `style` survives, so student HTML cannot draw in the view's own classes; code cells come from
their source, escaped, never from student HTML; outputs are passive types only, capped; images only
as data: URLs (a pasted image's `attachment:` reference becomes its data). The page serves the view in
a sandboxed iframe under a Content-Security-Policy that allows no script and nothing from outside.

This file imports nothing of the service: the child runs it by path (`python -I notebook_view.py`).
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import resource
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mistune
import nh3

MAX_CELLS = 500                # cells rendered; the rest are counted, not shown
MAX_SOURCE = 20_000            # characters of one cell's source
MAX_LINE = 2000                # characters of one line of markdown (longer lines are cut)
MAX_OUTPUTS_PER_CELL = 8
MAX_TEXT = 4000                # characters of one text output
MAX_HTML = 20_000              # characters of one HTML or markdown output
MAX_IMAGE = 512 * 1024         # bytes of one base64 image
MAX_VIEW = 8 * 1024 * 1024     # characters of the whole view
CHILD_MEMORY = 1024 ** 3       # bytes of address space for the rendering child
IMAGES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")
TEXTS = ("text/html", "text/markdown", "text/latex", "text/plain")
_renderer = mistune.HTMLRenderer(escape=False, allow_harmful_protocols=("attachment:",))  # nh3 judges every URL
_markdown = mistune.create_markdown(renderer=_renderer, plugins=["table", "strikethrough"])


@dataclass(frozen=True)
class Marks:
    """What to say above a code cell: the failed checks that point at it, by the cell's label."""

    by_cell: dict[str, list[str]]
    heading: str          # e.g. "a check failed here"


@dataclass(frozen=True)
class Words:
    """The page's own words in the reader's language (pages catalogue), put in by `page`."""

    truncated: str                      # "[output truncated]"
    shown: Callable[[int, int], str]    # (code cells shown, in the file) -> "3 code cells shown of 3 in the file"
    placeholder: Callable[[str], str]   # why a cell is not shown -> "this cell could not be shown (...)"
    unreadable: str                     # the notebook could not be shown at all


def read(blob: bytes) -> list[dict] | None:
    """The notebook's cells as plain JSON; None if it is no notebook's JSON. No schema validation: it is
    slow, and nothing here runs the cells."""
    try:
        nb = json.loads(blob)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    found = nb.get("cells") if isinstance(nb, dict) else None
    return [c if isinstance(c, dict) else {} for c in found] if isinstance(found, list) else None


def text(value: object) -> str:
    """A notebook string field, stored either as one string or as a list of lines; a lone surrogate (valid
    JSON, not encodable) becomes "?"."""
    joined = "".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
    return joined.encode("utf-8", "replace").decode("utf-8")


def heading(line: str) -> str | None:
    """The title of an ATX heading line (`## 感想 ##`), None if the line is not one. Linear in the line."""
    body = line.lstrip(" ")
    if len(line) - len(body) > 3:
        return None
    rest = body.lstrip("#")
    if not 1 <= len(body) - len(rest) <= 6 or (rest and not rest[0].isspace()):
        return None
    title = rest.strip()
    closed = title.rstrip("#")
    return closed.rstrip() if closed != title and (not closed or closed[-1].isspace()) else title


def label(cell: dict, index: int) -> str:
    """A code cell's label as the grader names it (grader.intake.Cell.label): In [n], or cell k."""
    count = cell.get("execution_count")
    return f"In [{count}]" if isinstance(count, int) and not isinstance(count, bool) else f"cell {index + 1}"


def render(blob: bytes) -> dict:
    """The view: {"cells": [{kind, label, html, cut} | {kind: "placeholder", reason}], "code_cells",
    "code_shown", "error"}; bounded by MAX_CELLS and MAX_VIEW. Each cell on its own."""
    cells = read(blob)
    if cells is None:
        return failed("unreadable")
    code_cells = sum(1 for c in cells if c.get("cell_type") == "code")
    shown, size, code_shown = [], 0, 0
    for index, cell in enumerate(cells[:MAX_CELLS]):
        try:
            rendered = _cell(cell, index)
        except Exception as exc:  # noqa: BLE001 - one cell's failure is that cell's placeholder, never the view's
            rendered = {"kind": "placeholder", "reason": type(exc).__name__}
        size += len(rendered.get("html", ""))
        if size > MAX_VIEW:
            break
        code_shown += rendered["kind"] == "code"
        shown.append(rendered)
    return {"cells": shown, "code_cells": code_cells, "code_shown": code_shown, "error": None}


def failed(error: str) -> dict:
    """A view that shows nothing but why (unreadable)."""
    return {"cells": [], "code_cells": 0, "code_shown": 0, "error": error}


def plain(blob: bytes, reason: str) -> dict:
    """The view when `render` did not finish: every cell's source as escaped text (string work only, linear),
    no outputs, and above it why; so a notebook that was graded always shows its code."""
    cells = read(blob)
    if cells is None:
        return failed("unreadable")
    shown = [{"kind": "placeholder", "reason": reason}]
    for index, cell in enumerate(cells[:MAX_CELLS]):
        body = f'<pre class="nbv-source"><code>{html.escape(text(cell.get("source"))[:MAX_SOURCE])}</code></pre>'
        if cell.get("cell_type") == "code":
            name = label(cell, index)
            shown.append({"kind": "code", "label": name, "cut": False,
                          "html": _section("code", f'<div class="nbv-prompt">{html.escape(name)}:</div>{body}')})
        else:
            shown.append({"kind": "raw", "html": _section("raw", body), "cut": False})
    return {"cells": shown, "code_cells": sum(1 for c in cells if c.get("cell_type") == "code"),
            "code_shown": sum(1 for c in shown if c["kind"] == "code"), "error": None}


def _cell(cell: dict, index: int) -> dict:
    kind = cell.get("cell_type")
    source = text(cell.get("source"))
    cut = len(source) > MAX_SOURCE
    source = source[:MAX_SOURCE]
    if kind == "code":
        name = label(cell, index)
        outputs, lost = _outputs(cell.get("outputs"))
        body = (f'<div class="nbv-prompt">{html.escape(name)}:</div>'
                f'<pre class="nbv-source"><code>{html.escape(source)}</code></pre>{outputs}')
        return {"kind": "code", "label": name, "html": _section("code", body), "cut": cut or lost}
    if kind == "markdown":
        attachments = cell.get("attachments") if isinstance(cell.get("attachments"), dict) else {}
        lines = source.splitlines()
        cut |= any(len(line) > MAX_LINE for line in lines)
        body = sanitise(_markdown("\n".join(map(_bounded, lines))), _attachment_filter(attachments))
        return {"kind": "markdown", "html": _section("markdown", body), "cut": cut}
    body = f'<pre class="nbv-raw">{html.escape(source)}</pre>'    # raw (and unknown) cells: shown as text
    return {"kind": "raw", "html": _section("raw", body), "cut": cut}


def _bounded(line: str) -> str:
    """A markdown line cut at MAX_LINE; a heading's title with its runs of white space made one (as the
    browser shows it), so the markdown parser's own heading pattern cannot backtrack over them."""
    line = line[:MAX_LINE]
    title = heading(line)
    if title is None:
        return line
    body = line.lstrip(" ")
    return "#" * (len(body) - len(body.lstrip("#"))) + " " + " ".join(title.split())


def _section(kind: str, body: str) -> str:
    return f'<section class="nbv-cell nbv-{kind}">{body}</section>'


def _outputs(outputs: object) -> tuple[str, bool]:
    """At most MAX_OUTPUTS_PER_CELL outputs, passive types only, each cut to a bounded size; and whether
    anything was cut."""
    outputs = outputs if isinstance(outputs, list) else []
    parts, lost = [], len(outputs) > MAX_OUTPUTS_PER_CELL
    for out in outputs[:MAX_OUTPUTS_PER_CELL]:
        out = out if isinstance(out, dict) else {}
        kind = out.get("output_type")
        if kind == "stream":
            body = text(out.get("text"))
            parts.append(_pre("nbv-stderr" if out.get("name") == "stderr" else "nbv-stream", body[:MAX_TEXT]))
            lost |= len(body) > MAX_TEXT
        elif kind == "error":
            body = _without_ansi("\n".join(map(str, out.get("traceback") or [])))
            parts.append(_pre("nbv-error", body[:MAX_TEXT]))
            lost |= len(body) > MAX_TEXT
        elif kind in ("display_data", "execute_result"):
            shown, cut = _rich(out.get("data") if isinstance(out.get("data"), dict) else {})
            parts.append(shown)
            lost |= cut
    return f'<div class="nbv-outputs">{"".join(parts)}</div>' if parts else "", lost


def _rich(data: dict) -> tuple[str, bool]:
    """The richest passive form of a display output that fits its bound; (html, whether one was too large)."""
    cut = False
    for mime in (*IMAGES, *TEXTS):
        if mime not in data:
            continue
        value = text(data[mime])
        if mime in IMAGES:
            url = _data_url(mime, value)
            if url:
                return f'<img class="nbv-image" src="{url}" alt="">', cut
            cut = True
        elif mime in ("text/html", "text/markdown"):
            if len(value) <= MAX_HTML:
                shown = sanitise(value if mime == "text/html" else _markdown(value))
                return f'<div class="nbv-html">{shown}</div>', cut
            cut = True
        else:
            return _pre("nbv-result", value[:MAX_TEXT]), cut or len(value) > MAX_TEXT
    return "", cut


def _data_url(mime: str, value: str) -> str | None:
    """An image as a data: URL (base64 checked; SVG is shown as an image, where it can run nothing)."""
    if mime == "image/svg+xml":
        payload = base64.b64encode(value.encode()).decode()
    else:
        payload = "".join(value.split())
        try:
            base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return None
    return f"data:{mime};base64,{payload}" if len(payload) <= MAX_IMAGE else None


def _attachment_filter(attachments: dict) -> Callable[[str, str, str], str | None]:
    """The attribute filter of one markdown cell: `attachment:name` images become the pasted data."""
    def keep(tag: str, attr: str, value: str) -> str | None:
        if tag == "img" and attr == "src" and value.startswith("attachment:"):
            bundle = attachments.get(value.removeprefix("attachment:"))
            bundle = bundle if isinstance(bundle, dict) else {}
            return next((url for mime in IMAGES if mime in bundle and (url := _data_url(mime, text(bundle[mime])))),
                        None)
        return _attribute(tag, attr, value)
    return keep


def _attribute(tag: str, attr: str, value: str) -> str | None:
    """Links stay within the page; images only as inline data (nothing is fetched from anywhere)."""
    if tag == "a" and attr == "href":
        return value if value.startswith("#") else None
    if tag == "img" and attr == "src":
        return value if value.lower().startswith(tuple(f"data:{m};" for m in IMAGES)) else None
    return value


def _pre(css: str, body: str) -> str:
    return f'<pre class="{css}">{html.escape(body)}</pre>'


def _without_ansi(body: str) -> str:
    """A traceback without its terminal colour codes (ESC [ ... letter), in one pass."""
    out, i = [], 0
    while (j := body.find("\x1b[", i)) >= 0:
        out.append(body[i:j])
        k = j + 2
        while k < len(body) and (body[k].isdigit() or body[k] in ";?"):
            k += 1
        i = k + 1
    out.append(body[i:])
    return "".join(out)


def sanitise(fragment: str, attribute_filter: Callable[[str, str, str], str | None] = _attribute) -> str:
    """One cell's (or output's) student HTML, alone: no script, style, class, id, event handler or outside URL."""
    tags = (nh3.ALLOWED_TAGS - {"map", "area"}) | {"div", "span", "pre", "code", "img", "table", "tfoot"}
    attributes = {tag: set(attrs) - {"class", "id", "style"} for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["img"] = attributes.get("img", set()) | {"src", "alt"}
    return nh3.clean(fragment, tags=tags, attributes=attributes, attribute_filter=attribute_filter,
                     url_schemes={"data", "attachment"}, link_rel="noopener noreferrer", strip_comments=True)


def page(view: dict, marks: Marks, words: Words) -> str:
    """A stored view as the HTML fragment one reader sees: the count of code cells shown, each cell with the
    marks of the checks that failed in it, a note where something was cut."""
    if view.get("error"):
        return f'<p class="nbv-unreadable">{html.escape(words.unreadable)}</p>'
    parts = [f'<p class="nbv-count" id="cell-count">{html.escape(words.shown(view["code_shown"], view["code_cells"]))}'
             '</p>']
    for cell in view["cells"]:
        if cell["kind"] == "placeholder":
            parts.append(f'<p class="nbv-cell nbv-placeholder">{html.escape(words.placeholder(cell["reason"]))}</p>')
            continue
        failed_here = marks.by_cell.get(cell.get("label", ""), []) if cell["kind"] == "code" else []
        if failed_here:
            items = "".join(f"<li>{html.escape(f)}</li>" for f in failed_here)
            heading = html.escape(marks.heading)
            parts.append(f'<div class="failed-mark"><strong>{heading}</strong><ul>{items}</ul></div>')
        parts.append(cell["html"])
        if cell.get("cut"):
            parts.append(f'<p class="nbv-cut">{html.escape(words.truncated)}</p>')
    return "".join(parts)


def document(fragment: str, lang: str, css: str) -> tuple[str, str]:
    """(full HTML document, its Content-Security-Policy): no script at all, styles only by nonce."""
    nonce = secrets.token_urlsafe(16)
    body = (f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<style nonce="{nonce}">{css}</style></head><body>{fragment}</body></html>')
    csp = (f"default-src 'none'; img-src data:; style-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; "
           f"frame-ancestors 'self'; sandbox")
    return body, csp


def made_apart(blob: bytes, seconds: float) -> dict:
    """`render` in a child process of its own, killed after `seconds`; if it does not finish, the `plain` view."""
    try:
        done = subprocess.run([sys.executable, "-I", str(Path(__file__).resolve())], input=blob,
                              capture_output=True, timeout=seconds, check=True)
        return json.loads(done.stdout)
    except subprocess.TimeoutExpired:
        return plain(blob, f"more than {seconds:g} s")
    except (subprocess.CalledProcessError, ValueError) as exc:
        return plain(blob, type(exc).__name__)


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    sys.stdout.write(json.dumps(render(sys.stdin.buffer.read())))
