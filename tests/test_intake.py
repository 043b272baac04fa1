"""Intake accepts real notebooks in their various shapes and rejects everything else clearly."""

from __future__ import annotations

import json

import pytest

from grader.intake import IntakeError, read_bytes
from tests.notebooks import notebook_bytes

LIMIT = 5 * 1024 * 1024


def test_reads_code_cells_with_execution_counts_and_language():
    nb = json.loads(notebook_bytes("x = 1", "def f():\n    return 2", markdown="# 課題"))
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


def test_nbformat_v3_notebooks_are_converted():
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "def f():\n    return 1", "language": "python", "outputs": [],
         "prompt_number": 3, "metadata": {}}], "metadata": {}}]}
    parsed = read_bytes(json.dumps(v3).encode(), LIMIT)
    assert parsed.code_cells[0].source == "def f():\n    return 1"
    assert parsed.code_cells[0].label == "In [3]"
    assert parsed.language == "en"


@pytest.mark.parametrize("blob, code", [
    (b"this is not json", "not_json"),
    (b"\xff\xfe\x00garbage", "not_utf8"),
    (b"[" * 100_000 + b"]" * 100_000, "not_json"),
    (b'{"cells": []}', "not_notebook"),
    (b"[1, 2, 3]", "not_notebook"),
    (b'{"nbformat": 4, "nbformat_minor": 4, "cells": "nope", "metadata": {}}', "not_notebook"),
])
def test_rejects_what_is_not_a_notebook(blob, code):
    with pytest.raises(IntakeError) as err:
        read_bytes(blob, LIMIT)
    assert err.value.code == code


def test_rejects_oversize_before_parsing():
    with pytest.raises(IntakeError) as err:
        read_bytes(b" " * (LIMIT + 1), LIMIT)
    assert err.value.code == "too_large"
    assert err.value.params["limit_mb"] == 5.0
