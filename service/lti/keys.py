"""The tool's RSA key pair: made at first start in the data directory (0600), rotatable. Its public half is
served at /lti/jwks; the private half signs what the tool sends platforms (service assertions, deep links).
After a rotation the previous public key stays published, so what was signed just before still verifies."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from jwcrypto import jwk

KEY_FILE = "lti-tool-keys.json"
KEPT = 2            # the current key and the one before it
KEY_BITS = 2048


def _path(data_dir: Path) -> Path:
    return data_dir / KEY_FILE


def _new_key() -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=KEY_BITS, kid=secrets.token_hex(8), alg="RS256", use="sig")


def _write(path: Path, keys: list[jwk.JWK]) -> None:
    """Write the key list through a private temporary file, moved into place in one step."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump([k.export_private(as_dict=True) for k in keys], out)
    os.replace(temporary, path)


def ensure(data_dir: Path) -> None:
    """Make the key pair unless there is one (the first start; safe when several processes start at once)."""
    path = _path(data_dir)
    if path.exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    _write(temporary, [_new_key()])
    try:
        os.link(temporary, path)     # fails if another process made it first: theirs is kept
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def load(data_dir: Path) -> list[jwk.JWK]:
    """The tool's keys, the current one first."""
    return [jwk.JWK(**k) for k in json.loads(_path(data_dir).read_text())]


def current(data_dir: Path) -> jwk.JWK:
    return load(data_dir)[0]


def rotate(data_dir: Path) -> str:
    """A new current key; the previous one stays published, older ones are dropped. Returns the new kid."""
    ensure(data_dir)
    key = _new_key()
    _write(_path(data_dir), [key, *load(data_dir)][:KEPT])
    return key["kid"]


def public_jwks(data_dir: Path) -> dict:
    """What /lti/jwks serves: the public halves only."""
    return {"keys": [k.export_public(as_dict=True) for k in load(data_dir)]}
