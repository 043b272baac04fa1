"""Page language: the choice of language per request, and the pages' strings in it.

The strings are the core's message catalogue, table `pages` (grader/catalogue.py); templates reach
them through Jinja2's i18n extension (service/web/render.py), code through `translator`.
"""

from __future__ import annotations

from collections.abc import Callable

from grader import catalogue, languages

LANGUAGES: dict[str, str] = {code: catalogue.text("pages", "language_name", code)  # code -> name in the switch
                             for code in languages.LANGUAGES}
DEFAULT = "en"
COOKIE = "lang"


def negotiate(accept_language: str | None, cookie: str | None) -> str:
    """The page language: the switch's cookie if set, else the browser's first language we speak."""
    if cookie in LANGUAGES:
        return cookie
    return languages.from_accept_language(accept_language, DEFAULT)


def gettext(lang: str) -> Callable[[str], str]:
    """The text of a key in one language, as gettext gives a msgid's (a key missing in a language is English)."""
    return lambda key: catalogue.text("pages", key, lang)


def translator(lang: str) -> Callable[..., str]:
    """`t(key, **facts)` for one language, for pages' texts made in code (pictures, flash messages)."""
    text = gettext(lang)
    return lambda key, **facts: text(key) % facts
