"""Build notebooks in tests from the solution's definitions, with code changed or added."""

from __future__ import annotations

import ast

import nbformat

from grader.config import ASSIGNMENTS_DIR
from grader.extraction import classify

SOLUTION = ASSIGNMENTS_DIR / "backprop" / "solution.ipynb"


def solution_cells() -> list[str]:
    """The solution's code cells that hold only definitions (not its self-check or demo):
    imports, softmax + cross_entropy_error, numerical_grad, the layers, TwoLayerNet."""
    nb = nbformat.read(SOLUTION, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"
            and all(classify(node) in {"import", "definition", "noise"} for node in ast.parse(c.source).body)]


def notebook_bytes(*sources: str, markdown: str | None = None) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(markdown)] if markdown else []
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(nb).encode()
