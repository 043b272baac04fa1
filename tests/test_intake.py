"""Intake accepts real notebooks in their various shapes and rejects everything else clearly."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from grader import pipeline
from grader.feedback import render
from grader.intake import MAX_CELLS, MAX_DEPTH, IntakeError, read_bytes
from tests.notebooks import notebook_bytes

LIMIT = 5 * 1024 * 1024


def test_reads_code_cells_with_execution_counts_and_language():
    nb = json.loads(notebook_bytes("x = 1", "def f():\n    return 2", markdown="# 課題について"))
    nb["cells"][1]["execution_count"] = 7
    parsed = read_bytes(json.dumps(nb).encode(), LIMIT)
    assert [c.source for c in parsed.code_cells] == ["x = 1", "def f():\n    return 2"]
    assert parsed.code_cells[0].label == "In [7]"
    assert parsed.code_cells[1].label == "cell 3"
    assert parsed.language == "ja"


def test_sources_as_lists_of_lines_are_joined():
    nb = json.loads(notebook_bytes("placeholder"))
    nb["cells"][0]["source"] = ["def f(x):\n", "    return x\n"]
    assert read_bytes(json.dumps(nb).encode(), LIMIT).code_cells[0].source == "def f(x):\n    return x\n"


def test_a_cell_without_its_id_in_a_4_5_notebook_is_read_as_jupyter_reads_it():
    """Hand-merged notebooks and some tools leave 4.5 cells without an `id`; nbformat (and Jupyter) repair it."""
    nb = json.loads(notebook_bytes("x = 1"))
    nb["nbformat_minor"] = 5
    nb["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                        "source": ["def f():\n", "    return 2"]})
    nb["cells"][-1].pop("id", None)
    assert [c.source for c in read_bytes(json.dumps(nb).encode(), LIMIT).code_cells][-1] == "def f():\n    return 2"


def test_nbformat_v3_notebooks_are_converted():
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "def f():\n    return 1", "language": "python", "outputs": [],
         "prompt_number": 3, "metadata": {}}], "metadata": {}}]}
    parsed = read_bytes(json.dumps(v3).encode(), LIMIT)
    assert parsed.code_cells[0].source == "def f():\n    return 1"
    assert parsed.code_cells[0].label == "In [3]"
    assert parsed.language == "en"


@pytest.mark.parametrize("blob, code, says", [
    (b"this is not json", "not_json", "not JSON (error at line 1, column 1), so it is not a notebook. "
                                      "Submit the `.ipynb` file itself, not an export"),
    (b"%PDF-1.4\n", "not_json", "not an export such as PDF"),
    (b"\xff\xfe\x00garbage", "not_utf8", "invalid byte at position 0). Open the notebook in Jupyter, save it again"),
    (b"[" * 100_000 + b"]" * 100_000, "too_deep", "Submit the `.ipynb` file that Jupyter saved"),
    (b'{"cells": []}', "no_nbformat", "not a Jupyter notebook (it has no `nbformat` version 3 or 4)"),
    (b"[1, 2, 3]", "no_nbformat", "not an export or another JSON file"),
    (b'{"nbformat": 4, "nbformat_minor": 4, "cells": "nope", "metadata": {}}', "not_notebook",
     "Open it in Jupyter, save it again and submit the saved `.ipynb`"),
])
def test_rejects_what_is_not_a_notebook_and_says_how_to_fix_it(blob, code, says):
    with pytest.raises(IntakeError) as err:
        read_bytes(blob, LIMIT)
    assert err.value.code == code
    assert says in render(code, err.value.params, "en")


def notebook_of(cells: list, metadata: dict | None = None) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": metadata or {}, "cells": cells}).encode()


EMPTY_CELL = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ""}


@pytest.mark.parametrize("blob, code, says", [
    (notebook_of([EMPTY_CELL] * (MAX_CELLS + 1)), "too_many_cells",
     f"has {MAX_CELLS + 1} cells, more than the {MAX_CELLS} a notebook may have. Delete empty or repeated cells"),
    (json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [EMPTY_CELL] * (MAX_CELLS // 2 + 1), "metadata": {}}] * 2}).encode(), "too_many_cells", "more"),
    (notebook_of([], {"widgets": json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))}), "too_deep",
     "nests lists or objects too deeply"),
])
def test_an_absurd_notebook_is_refused_before_its_full_validation(blob, code, says):
    """The cheap caps run first (the CLI and the service alike): 60,000 empty cells cost seconds to validate."""
    with pytest.raises(IntakeError) as err:
        read_bytes(blob, LIMIT)
    assert err.value.code == code and says in render(code, err.value.params, "en")


def test_a_notebook_at_the_caps_is_read() -> None:
    deep = json.loads("[" * (MAX_DEPTH - 4) + "]" * (MAX_DEPTH - 4))
    assert len(read_bytes(notebook_of([EMPTY_CELL] * MAX_CELLS, {"widgets": deep}), LIMIT).code_cells) == MAX_CELLS


def test_rejects_oversize_before_parsing_with_the_size_the_limit_and_the_cure(tmp_path, backprop, settings):
    with pytest.raises(IntakeError) as err:
        read_bytes(b" " * (LIMIT + 1), LIMIT)
    assert err.value.code == "too_large"
    assert err.value.params == {"size_mb": 5.1, "limit_mb": 5.0}  # just over the limit never reads "5.0"
    path = tmp_path / "big.ipynb"
    path.write_bytes(b" " * (12 * 2**20))
    limited = replace(settings, max_notebook_bytes=LIMIT)  # a file is read only to LIMIT + 1 bytes, its size known
    said = {lang: pipeline.grade_file(path, backprop, limited, lang=lang).error for lang in ("en", "ja")}
    assert said["en"].startswith("the notebook is 12 MB, over the 5 MB limit")
    assert "clear all outputs" in said["en"] and "submit again" in said["en"]
    assert "12 MB" in said["ja"] and "出力を消去" in said["ja"]
