"""The assignments this service grades: specs read once per process from the assignments folder, registered
as records."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

from grader import spec
from service.store import Store


@functools.lru_cache(maxsize=4)
def specs(assignments_dir: Path) -> dict[str, spec.Assignment]:
    """Every assignment under the folder, loaded once (workers keep them warm)."""
    loaded = (spec.load(p) for p in sorted(assignments_dir.glob("*/assignment.toml")))
    return {a.name: a for a in loaded}


@functools.lru_cache(maxsize=4)
def versions(assignments_dir: Path) -> dict[str, str]:
    """Each assignment's version: the digest of its assignment.toml and its reference module's source, what a
    worker must have to grade it exactly as the registered one is graded."""
    found = {}
    for toml in sorted(assignments_dir.glob("*/assignment.toml")):
        assignment = spec.load(toml)
        reference = importlib.util.find_spec(assignment.reference)
        source = Path(reference.origin).read_bytes() if reference and reference.origin else b""
        found[assignment.name] = hashlib.sha256(toml.read_bytes() + b"\0" + source).hexdigest()[:16]
    return found


def register(store: Store, assignments_dir: Path) -> dict[str, spec.Assignment]:
    """Record the folder's assignments and their versions (the API side only: workers read, never write)."""
    loaded = specs(assignments_dir)
    store.register_assignments(loaded.values(), versions(assignments_dir))
    return loaded


def served(store: Store, assignments_dir: Path) -> tuple[list[str], str]:
    """The assignments this machine has in their registered version, and what it refuses and why ("" if none)."""
    mine, registered = versions(assignments_dir), {a.name: a.version for a in store.assignments()}
    serves = sorted(n for n, v in mine.items() if registered.get(n) == v)
    refused = [f"{n} (registered {registered[n] or 'unversioned'}, here {mine.get(n, 'missing')})"
               for n in sorted(registered) if n not in serves]
    return serves, ("refuses " + ", ".join(refused)) if refused else ""
