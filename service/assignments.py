"""The assignments this service grades: specs read once per process from the assignments folder, registered
as records."""

from __future__ import annotations

import functools
from pathlib import Path

from grader import spec
from service.store import Store


@functools.lru_cache(maxsize=4)
def specs(assignments_dir: Path) -> dict[str, spec.Assignment]:
    """Every assignment under the folder, loaded once (workers keep them warm)."""
    loaded = (spec.load(p) for p in sorted(assignments_dir.glob("*/assignment.toml")))
    return {a.name: a for a in loaded}


def register(store: Store, assignments_dir: Path) -> dict[str, spec.Assignment]:
    loaded = specs(assignments_dir)
    store.register_assignments(loaded.values())
    return loaded
