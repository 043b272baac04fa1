"""A notebook gets feedback in the language its author writes; a web reader in their browser's."""

from __future__ import annotations

import json

import nbformat
import pytest

from grader.intake import read_bytes
from grader.languages import LANGUAGES, from_accept_language, normalise
from tests.notebooks import notebook_bytes

LIMIT = 5 * 1024 * 1024


def language_of(*code: str, markdown: str | None = None) -> str:
    return read_bytes(notebook_bytes(*code, markdown=markdown), LIMIT).language


@pytest.mark.parametrize("markdown, code, lang", [
    ("## 逆伝播の実装", "x = 1", "ja"),
    ("## 오차역전파법 구현", "x = 1", "ko"),
    ("## 误差反向传播法的实现", "x = 1", "zh"),
    ("## Backpropagation", "x = 1", "en"),
    (None, "def f(x):\n    return x  # 항등 함수\n", "ko"),                 # a comment
    (None, "def f(x):\n    \"\"\"恒等関数です\"\"\"\n    return x\n", "ja"),     # a docstring
    (None, "print('识别精度:', 0.9)\n", "zh"),                             # a printed string
    (None, "%matplotlib inline\ny = (1,  # 数值\n", "zh"),                 # code that does not tokenize
    ("『ゼロから作るDeep Learning』를 따라 오차역전파법을 구현한 과제입니다", "x = 1", "ko"),  # a quoted title
    ("# Report", "数値 = 3\nprint(数値)\n", "en"),                         # identifiers are not prose
    ("## Backpropagation\n\nI implemented the layers of chapter 5 and checked the gradient numerically.",
     "class Relu:\n    pass  # 逆伝播で使うマスク\n", "en"),  # English prose wins over comments copied from the book
    ("# Homework 5", "x = 1  # 기울기 확인\n", "ko"),           # a title alone does not make a notebook English
    ("## Notes: $\\frac{f(x+h) - f(x-h)}{2h}$ with `numerical_grad(f, x)`", "x = 1  # 数値微分で確認\n", "ja"),
])
def test_the_notebooks_own_text_decides(markdown, code, lang):
    assert language_of(code, markdown=markdown) == lang


def test_raw_cells_and_outputs_do_not_count():
    nb = nbformat.reads(notebook_bytes("print(1)", markdown="# Report").decode(), as_version=4)
    nb.cells.append(nbformat.v4.new_raw_cell("日本語のメモ"))
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="学習完了")]
    assert read_bytes(json.dumps(nb).encode(), LIMIT).language == "en"


@pytest.mark.parametrize("header, lang", [
    ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
    ("zh-Hans-CN", "zh"),
    ("zh-TW,zh;q=0.9", "zh"),
    ("fr-FR,fr;q=0.9,ja;q=0.8,en;q=0.5", "ja"),
    ("en;q=0.5, ja", "ja"),
    ("de, fr", "en"),
    ("ja;q=0, en", "en"),
    ("*", "en"),
    ("", "en"),
    (None, "en"),
    ("ko;q=abc, zh;q=0.3", "zh"),
])
def test_accept_language_picks_the_readers_first_language_of_ours(header, lang):
    assert from_accept_language(header) == lang


def test_language_tags_from_a_switch_or_an_option():
    assert [normalise(t) for t in ("ja", "EN", "ko_KR", "zh-Hans", "fr", "", None)] == \
        ["ja", "en", "ko", "zh", None, None, None]
    assert set(LANGUAGES) == {"ja", "en", "ko", "zh"}
