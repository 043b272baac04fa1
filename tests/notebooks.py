"""Build notebooks in tests: from the solution's code, with a cell replaced or added."""

from __future__ import annotations

import nbformat

from grader.config import ASSIGNMENTS_DIR

SOLUTION = ASSIGNMENTS_DIR / "backprop" / "solution.ipynb"


def solution_cells() -> list[str]:
    nb = nbformat.read(SOLUTION, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def notebook_bytes(*sources: str, markdown: str = "# test") -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(markdown)] + [nbformat.v4.new_code_cell(s) for s in sources]
    return nbformat.writes(nb).encode()
