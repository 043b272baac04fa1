"""The LTI tool's key pair is the same on every API machine (they share only the database): made once at the
first start, rotated on any machine for all, the retired public key still published for a grace period, and a
pair an older release kept in a data directory adopted, not replaced (platforms already trust it)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from jwcrypto import jwk

from service import db
from service.lti import keys
from service.store import Store


def machines(database_url: str, tmp_path: Path, count: int = 2) -> list[tuple[Store, Path]]:
    """API machines: one store each on the shared database, each its own empty data directory."""
    db.migrate(db.make_engine(database_url))
    return [(Store(db.make_engine(database_url)), tmp_path / f"machine-{n}") for n in range(count)]


def kids(store: Store) -> list[str]:
    return [k["kid"] for k in keys.public_jwks(store)["keys"]]


def test_every_machine_signs_with_the_one_key_made_at_the_first_start(database_url: str, tmp_path: Path) -> None:
    fleet = machines(database_url, tmp_path, 3)
    starts = [threading.Thread(target=keys.ensure, args=machine) for machine in fleet]
    for start in starts:
        start.start()
    for start in starts:
        start.join()
    current = {keys.current(store)["kid"] for store, _ in fleet}
    assert len(current) == 1 and keys.current(fleet[0][0]).has_private
    keys.ensure(*fleet[1])                                                   # a restart keeps it
    assert {keys.current(store)["kid"] for store, _ in fleet} == current
    assert all(kids(store) == list(current) for store, _ in fleet)
    assert not any(folder.exists() and any(folder.iterdir()) for _, folder in fleet)   # no file of its own
    published = keys.public_jwks(fleet[0][0])["keys"]
    assert all("d" not in k and "p" not in k for k in published)


def test_a_rotation_on_one_machine_is_every_machines_and_the_old_key_stays_published_for_the_grace(
        database_url: str, tmp_path: Path) -> None:
    (first, first_dir), (second, second_dir) = machines(database_url, tmp_path)
    keys.ensure(first, first_dir)
    old = keys.current(first)["kid"]
    new = keys.rotate(first)
    assert keys.current(second)["kid"] == new
    assert kids(second) == [new, old]
    newest = keys.rotate(second)
    assert kids(first) == [newest, new, old]                                  # both retired within the grace
    real_clock = second.clock
    second.clock = lambda: real_clock() + keys.GRACE * 1.5                    # the grace has passed
    assert kids(second) == [newest]
    assert keys.rotate(second) and len(json.loads(second.shared_settings()[keys.SETTING])) == 2


def test_a_key_pair_an_older_release_kept_in_the_data_directory_becomes_everyones(
        database_url: str, tmp_path: Path) -> None:
    (first, first_dir), (second, second_dir) = machines(database_url, tmp_path)
    kept = jwk.JWK.generate(kty="RSA", size=2048, kid="from-the-file", alg="RS256", use="sig")
    first_dir.mkdir()
    (first_dir / keys.LEGACY_FILE).write_text(json.dumps([kept.export_private(as_dict=True)]))
    keys.ensure(first, first_dir)
    keys.ensure(second, second_dir)
    assert keys.current(second)["kid"] == "from-the-file"
    assert not (first_dir / keys.LEGACY_FILE).exists()                       # the private key left the disk
