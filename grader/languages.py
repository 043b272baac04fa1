"""Languages: which of the four feedback languages a notebook or a reader gets.

Feedback exists in Japanese, English, Korean and Simplified Chinese, the
languages the book is read in. A notebook gets the language its author
writes in (markdown, comments and strings; code identifiers are not prose);
a web reader gets the first of ours in their browser's Accept-Language.
"""

from __future__ import annotations

import re

LANGUAGES: tuple[str, ...] = ("ja", "en", "ko", "zh")
DEFAULT = "en"

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK = re.compile(f"{_KANA.pattern}|{_HANGUL.pattern}|{_HAN.pattern}")
_WORD = re.compile(r"[A-Za-z]{2,}")
_NOT_PROSE = re.compile(r"`[^`\n]{0,500}`|\$\$[\s\S]{0,5000}?\$\$|\$[^$\n]{0,500}\$|<[^<>\n]{0,500}>"
                        r"|\(https?://[^()\s]{0,500}\)")  # code, formulas, HTML tags, link targets
SAMPLE = 100_000  # characters of markdown, and of comments and strings, that decide (enough, and bounded)
ENGLISH_WORDS = 10


def detect_notebook(markdown: str, code_prose: str) -> str:
    """A notebook's language. Markdown written in English (ENGLISH_WORDS words or more outside code
    and formulas, no CJK) decides alone: comments are often copied from the book's own code, and the
    official repository's are Japanese. Otherwise markdown, comments and strings decide together."""
    markdown, code_prose = markdown[:SAMPLE], code_prose[:SAMPLE]
    words = _WORD.findall(_NOT_PROSE.sub(" ", markdown))
    if len(words) >= ENGLISH_WORDS and not _CJK.search(markdown):
        return "en"
    return detect(markdown + "\n" + code_prose)


def detect(text: str) -> str:
    """Japanese when the text has kana, Korean when it has Hangul (whichever of the two is more
    frequent wins, so a Korean report quoting a Japanese title stays Korean), Chinese when it has
    Han characters but neither, English otherwise."""
    kana, hangul = len(_KANA.findall(text)), len(_HANGUL.findall(text))
    if hangul and hangul >= kana:
        return "ko"
    if kana:
        return "ja"
    return "zh" if _HAN.search(text) else "en"


def normalise(tag: str | None) -> str | None:
    """One of LANGUAGES for a language tag (`ja`, `ko-KR`, `zh-Hans`, `zh-TW`, `EN`), else None.
    Traditional Chinese readers get the Simplified catalogue: closer than English."""
    primary = (tag or "").strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None, default: str = DEFAULT) -> str:
    """The reader's most preferred of our languages, from an HTTP Accept-Language header
    (`ko-KR,ko;q=0.9,en;q=0.8` -> `ko`); `default` when none of them is acceptable."""
    ranked = []
    for position, item in enumerate((header or "").split(",")):
        tag, *params = item.split(";")
        qualities = [value for key, _, value in (p.partition("=") for p in params) if key.strip().lower() == "q"]
        try:
            quality = float(qualities[0]) if qualities else 1.0
        except ValueError:
            continue  # a malformed weight: ignore that entry, as browsers never send one
        language = default if tag.strip() == "*" else normalise(tag)
        if language and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else default
