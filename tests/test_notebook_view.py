"""The instructor's notebook view and the written answers read hostile student text: in linear time, bounded,
one cell at a time, code cells from their source; a graded notebook always renders."""

from __future__ import annotations

import base64
import time

import nbformat

from service.web import notebook_view, written
from tests.notebooks import solution_cells

PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5d2b6c80000000049454e44ae426082")).decode()
WORDS = notebook_view.Words("[output truncated]",
                            lambda shown, total: f"{shown} code cells shown of {total} in the file",
                            lambda reason: f"this cell could not be shown ({reason})", "not a notebook")
NO_MARKS = notebook_view.Marks({}, "a check failed here")
FAKE_CELL = ('<div class="nbv-cell nbv-code"><div class="nbv-prompt">In [1]:</div>'
             '<pre class="nbv-source"><code>def cross_entropy_error(y, t):\n    return 0.0  # FAKE</code></pre></div>')
CONCEALERS = ("<style>", "<script>", "<math><mtext><table><mglyph><style>", "<svg><style>", "<noscript><style>",
              "<textarea>", "<xmp>", "<!--", "<table><tr><td><style>")


def _blob(*cells: nbformat.NotebookNode) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nbformat.writes(nb).encode()


def _seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def test_a_100_kB_heading_line_costs_the_written_answers_and_the_view_under_50_ms():
    line = "# x" + " " * 100_000 + "y"
    blob = _blob(nbformat.v4.new_markdown_cell(line + "\n## 感想\nよく分かった"), nbformat.v4.new_code_cell("1"))
    notebook_view.render(_blob(nbformat.v4.new_markdown_cell("# warm")))   # the markdown parser's first use
    assert _seconds(lambda: written.answers(blob, ("感想",))) < 0.05
    assert _seconds(lambda: notebook_view.render(blob)) < 0.05
    many = _blob(*[nbformat.v4.new_markdown_cell("\n".join(["# x" + " " * 1990 + "y"] * 10)) for _ in range(20)])
    assert _seconds(lambda: notebook_view.render(many)) < 1.0     # 200 such lines, each cut and collapsed


def test_headings_are_read_as_markdown_writes_them():
    lines = ("## 感想 ##", "  ### 考察", "#\tb", "# x#", "# x #y", "#")
    assert [notebook_view.heading(line) for line in lines] == ["感想", "考察", "b", "x#", "x #y", ""]
    assert [notebook_view.heading(line) for line in ("#no", "    # code", "####### seven", "text")] == [None] * 4
    blob = _blob(nbformat.v4.new_markdown_cell("## 1. Layers\nnot this\n## 感想 ##\n難しかった。\n\n続き"),
                 nbformat.v4.new_markdown_cell("もっと"), nbformat.v4.new_code_cell("1"),
                 nbformat.v4.new_markdown_cell("after the code"))
    found = written.answers(blob, ("感想",))
    assert [(a.heading, a.text) for a in found] == [("感想", "難しかった。\n\n続き\n\nもっと")]


def test_no_markdown_cell_can_hide_or_imitate_a_code_cell():
    """Each concealer after a fake code cell drawn in the view's classes: every real cell is still its own
    section, the fake has no class of the page's and stays inside its markdown cell."""
    code = [nbformat.v4.new_code_cell(source, execution_count=i + 1) for i, source in enumerate(solution_cells())]
    for concealer in CONCEALERS:
        view = notebook_view.render(_blob(nbformat.v4.new_markdown_cell(FAKE_CELL + concealer), *code))
        html = notebook_view.page(view, NO_MARKS, WORDS)
        assert [c["kind"] for c in view["cells"]] == ["markdown"] + ["code"] * len(code), concealer
        assert html.count('<section class="nbv-cell nbv-code">') == len(code), concealer
        markdown = view["cells"][0]["html"]
        assert "FAKE" in markdown and "class=" not in markdown.removeprefix('<section class="nbv-cell nbv-markdown">')
        assert all(c["html"].endswith("</section>") and c["html"].count("<section") == 1 for c in view["cells"])
        assert f"{len(code)} code cells shown of {len(code)} in the file" in html


def test_code_cells_come_from_their_source_escaped_and_the_view_is_bounded():
    cells = [nbformat.v4.new_code_cell("print('<b>not bold</b>')") for _ in range(notebook_view.MAX_CELLS + 40)]
    view = notebook_view.render(_blob(*cells))
    html = notebook_view.page(view, NO_MARKS, WORDS)
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>" not in html
    assert f"{notebook_view.MAX_CELLS} code cells shown of {notebook_view.MAX_CELLS + 40} in the file" in html


def test_a_pasted_image_is_shown_and_a_missing_attachment_costs_nothing():
    pasted = nbformat.v4.new_markdown_cell("![image.png](attachment:image.png) ![gone.png](attachment:gone.png)")
    pasted["attachments"] = {"image.png": {"image/png": PIXEL}}
    view = notebook_view.render(_blob(pasted, nbformat.v4.new_code_cell("x = 1")))
    assert f'src="data:image/png;base64,{PIXEL}"' in view["cells"][0]["html"]
    assert view["cells"][0]["html"].count("<img") == 2 and "attachment:" not in view["cells"][0]["html"]
    assert view["code_shown"] == 1


def test_a_cell_that_cannot_be_rendered_is_a_placeholder_saying_why_and_the_rest_is_shown(monkeypatch):
    markdown = notebook_view._markdown

    def failing(text: str) -> str:   # a markdown parser that fails on one cell's text
        if "explode" in text:
            raise RecursionError("too deep")
        return markdown(text)

    monkeypatch.setattr(notebook_view, "_markdown", failing)
    view = notebook_view.render(_blob(nbformat.v4.new_markdown_cell("explode"), nbformat.v4.new_markdown_cell("fine"),
                                      nbformat.v4.new_code_cell("x = 1")))
    html = notebook_view.page(view, NO_MARKS, WORDS)
    assert "this cell could not be shown (RecursionError)" in html and "fine" in html and "x = 1" in html
    assert notebook_view.page(notebook_view.render(b"{not json"), NO_MARKS, WORDS) == \
        '<p class="nbv-unreadable">not a notebook</p>'


def test_text_a_browser_cannot_encode_is_replaced_not_a_failure():
    blob = b'{"cells": [{"cell_type": "code", "source": "x = 1  # \\ud800", "metadata": {}, "outputs": []},' \
           b' {"cell_type": "markdown", "source": "\\udfff", "metadata": {}}], "metadata": {}, "nbformat": 4}'
    html = notebook_view.page(notebook_view.render(blob), NO_MARKS, WORDS)
    html.encode("utf-8")
    assert "x = 1  # ?" in html and len(notebook_view.render(blob)["cells"]) == 2


def test_a_view_that_takes_too_long_is_shown_as_plain_code_with_the_reason():
    blob = _blob(nbformat.v4.new_markdown_cell("*" * 10), nbformat.v4.new_code_cell("def f():\n    return 1"))
    view = notebook_view.made_apart(blob, 0.001)
    html = notebook_view.page(view, NO_MARKS, WORDS)
    assert "this cell could not be shown (more than 0.001 s)" in html and "def f():" in html
    assert "1 code cells shown of 1 in the file" in html
    assert notebook_view.made_apart(blob, 30)["cells"][0]["kind"] == "markdown"


def test_outputs_are_capped_and_javascript_outputs_dropped():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('x')", execution_count=4, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="y" * 100_000),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert('js-output')"})])
    nb.cells = [cell]
    view = notebook_view.render(nbformat.writes(nb).encode())
    html = notebook_view.page(view, notebook_view.Marks({"In [4]": ["Relu.backward (line 1)"]}, "a check failed here"),
                              WORDS)
    assert "alert" not in html and "[output truncated]" in html and len(html) < 20_000
    assert html.index("a check failed here") < html.index("In [4]")
