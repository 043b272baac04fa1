"""The caller's language: the first of Accept-Language's choices that the feedback catalogue speaks."""

from __future__ import annotations

from grader import feedback

SUPPORTED = sorted({lang for messages in feedback.MESSAGES.values() for lang in messages})


def preferred(accept_language: str | None, default: str = "en") -> str:
    """'ja,en;q=0.8' -> 'ja'. Quality weights order the choices; region tags fall back to the language."""
    choices = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        choices.append((-quality, position, tag.strip().lower().split("-")[0]))
    for _, _, lang in sorted(choices):
        if lang in SUPPORTED:
            return lang
    return default
