"""The message catalogue: every text exists in every language, with the same placeholders, in its own script."""

from __future__ import annotations

import re
import shutil

import pytest
from babel.messages.pofile import read_po

from grader import catalogue
from grader.languages import LANGUAGES
from tests.scripts import FOREIGN_SCRIPT, script_problems

PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?([-#0 +]*\d*(?:\.\d+)?[a-zA-Z%])")  # %(name)s, %(x).3g, and %%

# One plain-ASCII sample per fact a text uses: a new fact fails the render test until it has one.
SAMPLE_FACTS = {
    "call": "Affine(W (5, 3), b (3,)).forward(x (4, 5))", "type": "ValueError", "message": "bad value",
    "where": "", "array": "grads['b1']", "output": "dx", "got_type": "list", "keys": "['w1', 'b1']",
    "got_shape": [4, 3], "expected_shape": [4, 5],
    "ahead": 2, "wrong": 3, "total": 20, "max_abs_error": 0.125, "index": [1, 2], "values": "", "rtol": 1e-5,
    "atol": 1e-8, "got": 1.5, "expected": 2.5, "param": "W1", "rel_error": 0.5, "threshold": 1e-6,
    "accuracy": 0.5, "seconds": 10.0, "exit_code": -9, "reason": "", "names": "`Relu`", "why": "",
    "module": "common.functions", "cell": "In [3]", "line": 4, "detail": "x = 1", "text": "x = 1",
    "number": 3, "target": "TwoLayerNet", "sizes": (784, 50, 10), "steps": 300, "batch_size": 100,
    "learning_rate": 0.1,
    "size_mb": 12.5, "limit_mb": 5.0, "position": 17, "column": 1, "cells": 60000,
    "error": 3e-7, "distance": 0.8, "tolerance": 1e-3, "training": "", "loss_first": 2.3, "loss_last": 2.4,
    "still_steps": 600, "grad_first": 0.5, "grad_last": 18.0, "limit": 2.0, "unit": "gradient",
    "name": "arrage", "suggestion": "arange", "function": "gradient", "cls": "SoftmaxWithLoss", "factor": 4,
    "direction": "", "parameters": 41110, "budget": 1.0, "clock_name": "", "needed": "W1_large", "label": "dx",
    "eta": 12, "verdict": "ok", "s_first": "2.3", "s_last": "0.4", "r_first": "2.3", "r_last": "0.5",
    "s_acc": "0.9", "r_acc": "0.9", "count": 3, "low": 5, "high": 10, "twins": "large", "more": 8,
    "code": "np.sum(dout, axis=0)", "mutated": "np.sum(dout, axis=1)", "rows": 5, "builtin": "int",
    "opens": "2027-01-13 17:00 JST", "closes": "2027-01-23 17:00 JST", "at": "2027-01-20 17:00 JST",
    "left": "2 d 3 h 5 min", "penalty": "10", "days": 2, "hours": 3, "minutes": 5, "counted": "8",
    "step": 2, "n": 80000, "mean": 0.001, "std": 0.07, "expected_mean": 0.0, "expected_std": 0.1, "std_rtol": 0.05,
    "mean_atol": 0.05,
    "types": "LtiResourceLinkRequest", "version": "1.3.0", "claim": "sub", "course": "DL 2026", "active": 40,
    "joined": 3, "waiting": 2,
    "zone": "Asia/Tokyo", "pct": "10", "field": "due", "reasons": "“due” is missing.",
}


def entries(lang: str) -> list:
    """The file's entries in order, as Babel reads them; a syntax error fails here."""
    with open(catalogue.po_path(lang), "rb") as fh:
        return [m for m in read_po(fh, abort_invalid=True) if m.id]


def placeholders(text: str) -> set[tuple[str, str]]:
    return {(name, spec) for name, spec in PLACEHOLDER.findall(text) if spec != "%"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_the_english_entries_in_the_same_order_all_translated(lang):
    english = [(m.context, m.id) for m in entries("en")]
    assert [(m.context, m.id) for m in entries(lang)] == english, f"{lang}.po's entries differ from en.po's"
    assert len(set(english)) == len(english) and {context for context, _ in english} == set(catalogue.TABLES)
    assert [m.id for m in entries(lang) if m.fuzzy or not m.string] == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entry_has_the_english_placeholders_and_says_so(lang):
    """Poedit and Weblate check a translation's placeholders where an entry is flagged python-format."""
    english = {(m.context, m.id): placeholders(m.string) for m in entries("en")}
    differing = [m.id for m in entries(lang) if placeholders(m.string) != english[m.context, m.id]]
    unflagged = [m.id for m in entries(lang) if placeholders(m.string) and "python-format" not in _flags(lang, m)]
    assert differing == [] and unflagged == []


def _flags(lang: str, message) -> set[str]:
    """The entry's flags as written in the file (Babel drops python-format where the msgid is a key)."""
    text = catalogue.po_path(lang).read_text(encoding="utf-8")
    block = re.search(rf'((?:#[^\n]*\n)*)msgctxt "{message.context}"\nmsgid "{message.id}"\n', text)
    return {flag.strip() for line in block.group(1).splitlines() if line.startswith("#,")
            for flag in line[2:].split(",")}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_report_text_renders_and_is_only_in_its_own_script(lang):
    problems = []
    for name in ("messages", "outputs", "diagnoses"):
        for key, texts in catalogue.table(name).items():
            text = texts[lang] % SAMPLE_FACTS  # raises on a fact without a sample or a stray %
            problems += [f"{name} {key}: {p}" for p in script_problems(lang, text)]
    assert problems == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_text_renders_and_holds_no_other_languages_script(lang):
    """Page texts may be all names and numbers (`nn-grader`, `%(param)s: %(error).2g`), never another script."""
    pages = catalogue.table("pages")
    assert all(texts[lang] % SAMPLE_FACTS for texts in pages.values())
    foreign = {key: texts[lang] for key, texts in pages.items() if FOREIGN_SCRIPT[lang].search(texts[lang])}
    assert foreign == {}


def test_the_books_own_terms_in_each_edition():
    terms = {"ja": ["誤差逆伝播法", "数値微分", "勾配"], "ko": ["오차역전파법", "수치 미분", "기울기"],
             "zh": ["误差反向传播法", "数值微分", "梯度"]}
    for lang, words in terms.items():
        text = " ".join(catalogue.table(t)[k][lang] for t in ("messages", "outputs") for k in catalogue.table(t))
        assert [w for w in words if w not in text] == [], lang


def test_an_edited_catalogue_is_read_anew_and_one_without_a_cache_still_read(tmp_path):
    """The parsed catalogue is cached beside the files; a translator's edit shows without any build step."""
    shutil.copytree(catalogue.LOCALE_DIR, tmp_path / "locale", ignore=shutil.ignore_patterns(".cache"))
    locale = tmp_path / "locale"
    assert catalogue.load(locale) == catalogue.load(locale) == {t: catalogue.table(t) for t in catalogue.TABLES}
    assert len(list((locale / ".cache").glob("*.json"))) == 1
    po = catalogue.po_path("ja", locale)
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "合格"', 'msgstr "よくできました"'), encoding="utf-8")
    assert catalogue.load(locale)["messages"]["ok"]["ja"] == "よくできました"
    shutil.rmtree(locale / ".cache")
    (locale / ".cache").write_text("")  # no folder can be made there (as for a read-only installation)
    assert catalogue.load(locale)["messages"]["ok"]["ja"] == "よくできました"


def test_a_fuzzy_or_missing_translation_falls_back_to_english(tmp_path):
    shutil.copytree(catalogue.LOCALE_DIR, tmp_path / "locale", ignore=shutil.ignore_patterns(".cache"))
    po = catalogue.po_path("ko", tmp_path / "locale")
    po.write_text(po.read_text(encoding="utf-8").replace('msgctxt "pages"\nmsgid "save"\n',
                                                         '#, fuzzy\nmsgctxt "pages"\nmsgid "save"\n'), encoding="utf-8")
    pages = catalogue.load(tmp_path / "locale")["pages"]
    assert "ko" not in pages["save"] and pages["sign_in"]["ko"] == "로그인"
    assert catalogue.text("pages", "sign_in", "fr") == "Sign in"
