"""Uploads that are not notebooks, and notebooks with absurd code: rejected clearly or graded as usual,
within the limits; the reference code sent for substitutes carries no source a student could dig out.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests import hostile as h

pytestmark = pytest.mark.usefixtures("sandboxed")
BASE = h.BASE_SECONDS


INTAKE = {
    "not_json": (b"print('hello')\n", "the file is not JSON (error at line 1, column 1), so it is not a notebook"),
    "not_utf8": (b'{"cells": "\xff\xfe"}', "the file is not UTF-8 text (invalid byte at position 11)"),
    "too_large": (lambda: b'{"cells": [], "x": "' + b"a" * (100 << 20) + b'"}', "over the 5 MB limit"),
    "nested_lists": (b"[" * 100_000, "nests lists or objects too deeply"),
    "nested_objects": (b'{"a": ' * 100_000, "nests lists or objects too deeply"),
    "nested_closed": (b"[" * 100_000 + b"]" * 100_000, "nests lists or objects too deeply"),
    "json_not_notebook": (b'[1, 2, 3]', "not a Jupyter notebook"),
    "empty": (b"", "the file is not JSON"),
    "nbformat_2": (b'{"nbformat": 2, "worksheets": []}', "not a Jupyter notebook"),
    "cells_not_a_list": (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": {"a": 1}}',
                         "not a valid Jupyter notebook"),
}


@pytest.mark.parametrize("case", sorted(INTAKE))
def test_broken_notebook_is_rejected_clearly(case, backprop, settings):
    blob, message = INTAKE[case]
    g = h.grade(blob() if callable(blob) else blob, backprop, replace(settings, max_notebook_bytes=5 * 1024 * 1024))
    assert g.report.error is not None and message in g.report.error, g.report.error
    assert g.report.score == 0
    json.dumps(g.report.to_dict())
    g.assert_within(5)


def test_deeply_nested_metadata_in_a_valid_notebook(fast, settings):
    nb = json.loads(h.notebook_bytes(h.solution_cells()))
    deep: list = []
    for _ in range(900):
        deep = [deep]
    nb["metadata"]["deep"] = deep
    g = h.grade(json.dumps(nb).encode(), fast, settings)
    assert g.report.error is not None and "too deeply" in g.report.error   # refused by the intake's cheap cap
    g.assert_within(BASE)


# --- grader-side robustness: absurd code, huge cells, the reference code sent for substitutes ---


@pytest.mark.parametrize("expression", ["-" * 100_000 + "1", "+".join(["1"] * 100_000)])
def test_deeply_nested_code_in_a_cell(expression, fast, settings):
    g = h.grade([*h.solution_cells(), f"x = {expression}\n"], fast, settings)
    g.assert_full_except()


def test_many_small_statements_in_one_cell(fast, settings):
    g = h.grade([*h.solution_cells(), "a = 1\n" * 5000], fast, settings)
    g.assert_full_except()
    g.assert_within(BASE)


def test_reference_code_sent_for_substitutes_carries_no_source(fast, settings):
    """A reference_deps run swaps in compiled reference code; a student who digs it out of the
    harness's frames finds bytecode without source text or docstrings, not the reference file."""
    cells = h.inject(h.solution_cells(), "def forward(self, x, t):", """
    import sys, marshal
    found = []
    frame = sys._getframe()
    while frame is not None:
        for value in frame.f_locals.values():
            blob = getattr(value, "tobytes", lambda: value)()
            if isinstance(blob, (bytes, str)) and len(blob) > 100:
                found.append(blob if isinstance(blob, str) else blob.decode("latin-1"))
                try:
                    code = marshal.loads(blob) if isinstance(blob, bytes) else None
                    found += [repr(c.co_consts) for c in code.co_consts if hasattr(c, "co_consts")] if code else []
                except Exception:
                    pass
        frame = frame.f_back
    if "softmax" in "".join(found):
        raise RuntimeError("".join(found)[:20000])
    raise RuntimeError("no reference code here")
    """)
    g = h.grade(cells, fast, settings)
    dug = [c for u in g.report.units.values() for c in u.checks
           if "raised RuntimeError" in c.message and "no reference code here" not in c.message]
    assert dug and all(c.variant == "reference_deps" for c in dug)  # it found the code, only there
    for text in ("Row-wise softmax, shifted by the row maximum", "np.max(x, axis=-1, keepdims=True)"):
        assert text not in g.json
