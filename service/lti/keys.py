"""The tool's RSA key pair, in the shared configuration (the database), so every API machine signs with the
same key and publishes the same set: made at the first start, rotatable. Its public half is served at
/lti/jwks; the private half signs what the tool sends platforms (service assertions, deep links). After a
rotation the previous public key stays published for GRACE, so what was signed just before still verifies and
platforms that cache our JWKS pick the new key up in their own time."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from jwcrypto import jwk

from service.store import Store

SETTING = "lti_tool_keys"           # JSON: [{"key": private JWK, "retired": ISO time or null}], current first
LEGACY_FILE = "lti-tool-keys.json"  # where a data directory kept the pair before it was shared
GRACE = timedelta(days=7)
KEY_BITS = 2048


def _new_key() -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=KEY_BITS, kid=secrets.token_hex(8), alg="RS256", use="sig")


def _entry(key: dict, retired: datetime | None = None) -> dict:
    return {"key": key, "retired": retired.isoformat() if retired else None}


def ensure(store: Store, data_dir: Path) -> None:
    """Make the key pair unless the database has one (the first start wins when several start at once). A
    pair a data directory kept before keys were shared becomes everyone's, and the file is removed."""
    if SETTING in store.shared_settings():
        return
    legacy = data_dir / LEGACY_FILE
    found = json.loads(legacy.read_text()) if legacy.exists() else [_new_key().export_private(as_dict=True)]
    at = store.clock()
    entries = [_entry(found[0]), *(_entry(k, at) for k in found[1:])]
    store.write_shared_settings({}, {SETTING: json.dumps(entries)})
    legacy.unlink(missing_ok=True)


def _entries(store: Store) -> list[dict]:
    stored = store.shared_settings().get(SETTING)
    if stored is None:
        raise RuntimeError("no LTI tool key: the API side makes it at start (keys.ensure)")
    return json.loads(stored)


def current(store: Store) -> jwk.JWK:
    return jwk.JWK(**_entries(store)[0]["key"])


def _published(entries: list[dict], at: datetime) -> list[dict]:
    """The current entry and those retired less than GRACE ago."""
    return [e for e in entries if e["retired"] is None or datetime.fromisoformat(e["retired"]) > at - GRACE]


def rotate(store: Store) -> str:
    """A new current key; the one before is retired now (still published for GRACE), keys retired longer ago
    are dropped. Safe when two machines rotate at once: each rotation is one conditional update. The new kid."""
    key = _new_key()
    while True:
        stored = store.shared_settings()[SETTING]
        at = store.clock()
        entries = [{**e, "retired": e["retired"] or at.isoformat()} for e in json.loads(stored)]
        rotated = [_entry(key.export_private(as_dict=True)), *_published(entries, at)]
        if store.replace_shared_setting(SETTING, stored, json.dumps(rotated)):
            return key["kid"]


def public_jwks(store: Store) -> dict:
    """What /lti/jwks serves: the public halves of the published keys only."""
    return {"keys": [jwk.JWK(**e["key"]).export_public(as_dict=True)
                     for e in _published(_entries(store), store.clock())]}
