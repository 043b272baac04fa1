"""Which writing system a text uses: feedback in one language must not drift into another's script."""

from __future__ import annotations

import re

KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]")
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_ANY = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
OWN_SCRIPT = {"ja": re.compile(f"{KANA.pattern}|{HAN.pattern}"), "ko": HANGUL, "zh": HAN}
FOREIGN_SCRIPT = {"en": CJK_ANY, "ja": HANGUL, "ko": re.compile(f"{KANA.pattern}|{HAN.pattern}"),
                  "zh": re.compile(f"{KANA.pattern}|{HANGUL.pattern}")}


def script_problems(lang: str, text: str) -> list[str]:
    """Text in another language's script, outside `quoted code`."""
    prose = re.sub(r"`[^`]*`", "", text)
    problems = [f"foreign script: {text!r}"] if FOREIGN_SCRIPT[lang].search(prose) else []
    if lang in OWN_SCRIPT and not OWN_SCRIPT[lang].search(prose):
        problems.append(f"not in its language: {text!r}")
    return problems
