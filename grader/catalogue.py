"""The message catalogue: every text a report or a page says, one gettext catalogue per language.

`grader/locale/<lang>/LC_MESSAGES/grader.po` (ja, en, ko, zh; English is a translation like the
others) is what translators edit, in Poedit or Weblate. An entry's msgctxt is its table, its msgid
the key the code asks for, its msgstr the text, with %-format placeholders (`%(call)s`,
`%(rel_error).2g`) flagged `python-format`:

    messages   a check's verdict, a note about the program, a whole-submission error (grader/feedback.py)
    outputs    how a probe's output is named in a message
    diagnoses  the mistake recognised behind a failed check (grader/diagnoses/)
    pages      the web pages (service/web/, through Jinja2's i18n extension)

A new key goes into all four files, at the same place in each: msgctxt its table, msgid the key,
msgstr the text (`#, python-format` above it when it has placeholders). A key written for the old
formats moves as it is: `key = "... {x:.3g}"` of grader/messages/<lang>.toml's [messages],
[outputs] or [diagnoses], or `"key": {lang: "... {x}"}` of service/web/i18n.py's dict (table
`pages`), becomes msgid "key", msgstr "... %(x).3g" / "... %(x)s". tests/test_catalogue.py fails on
a key or a placeholder missing in any language.

Babel parses the four files on first use (~0.2 s with its import); the parsed tables are then
cached beside them in `locale/.cache/`, named by the files' digest, so later processes load them
in milliseconds and an edited file is read anew. A folder the process cannot write only costs it
the parse.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

from grader.languages import DEFAULT, LANGUAGES

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "grader"
TABLES = ("messages", "outputs", "diagnoses", "pages")
_CACHE_FORMAT = b"tables-1"  # part of the digest: a new layout of the cache file invalidates the old ones

Table = dict[str, dict[str, str]]  # key -> language -> text, keys in the English catalogue's order


def po_path(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def table(name: str) -> Table:
    """One of TABLES."""
    return _tables()[name]


def text(name: str, key: str, lang: str) -> str:
    """One entry in `lang`, in English where `lang` has no (or only a fuzzy) translation;
    KeyError for a key the catalogue does not have."""
    texts = table(name)[key]
    return texts.get(lang) or texts[DEFAULT]


@functools.cache
def _tables() -> dict[str, Table]:
    return load(LOCALE_DIR)


def load(locale_dir: Path) -> dict[str, Table]:
    """The catalogues under locale_dir: from the cache when it matches the files, else parsed and cached."""
    sources = {lang: po_path(lang, locale_dir).read_bytes() for lang in LANGUAGES}
    digest = hashlib.sha256(_CACHE_FORMAT)
    for lang, data in sources.items():
        digest.update(b"\0%s\0%d\0" % (lang.encode(), len(data)) + data)
    cached = locale_dir / ".cache" / f"{digest.hexdigest()[:32]}.json"
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tables = parse(sources)
        _save(cached, tables)
        return tables


def parse(sources: dict[str, bytes]) -> dict[str, Table]:
    """Tables from the .po files' bytes (language -> file); an unreadable file raises babel's PoFileError.
    Fuzzy and empty translations are left out, as gettext does."""
    from babel.messages.pofile import read_po  # ~0.1 s to import: only when the cache is cold

    found = {lang: {(m.context, m.id): m.string for m in read_po(io.BytesIO(data), abort_invalid=True)
                    if m.id and m.string and not m.fuzzy}
             for lang, data in sources.items()}
    tables: dict[str, Table] = {name: {} for name in TABLES}
    for name, key in found[DEFAULT]:
        tables.setdefault(name, {})[key] = {lang: texts[name, key] for lang, texts in found.items()
                                            if (name, key) in texts}
    return tables


def _save(path: Path, tables: dict[str, Table]) -> None:
    """Write the cache atomically (a reader never sees half a file), readable by every user of the
    installation, and drop the stale ones; a folder we cannot write is left as it is."""
    try:
        path.parent.mkdir(exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(tables, fh, ensure_ascii=False)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
        for stale in path.parent.glob("*.json"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
