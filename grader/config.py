"""Operator settings, read once from the environment with embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS_DIR = REPO_ROOT / "assignments"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """What an operator may configure; every field has a working default."""

    cache_dir: Path
    mnist_dir: Path | None
    max_notebook_bytes: int
    unsafe_no_sandbox: bool
    sandbox_dir: Path = Path("/var/lib/nn-grader")  # staged runtime and UID leases (grader/runtime.py)
    sandbox_uids: range | None = None               # host UIDs for sandboxes, when the grader runs as root

    @classmethod
    def from_env(cls) -> Settings:
        cache = os.environ.get("GRADER_CACHE_DIR") or str(Path.home() / ".cache" / "nn-grader")
        mnist = os.environ.get("GRADER_MNIST_DIR")
        root = os.geteuid() == 0
        sandbox_dir = os.environ.get("GRADER_SANDBOX_DIR") or ("/var/lib/nn-grader" if root else f"{cache}/sandbox")
        uid_base = int(os.environ.get("GRADER_SANDBOX_UID_BASE", 900_000))
        uid_count = int(os.environ.get("GRADER_SANDBOX_UID_COUNT", 64))
        return cls(
            cache_dir=Path(cache),
            mnist_dir=Path(mnist) if mnist else None,
            max_notebook_bytes=int(os.environ.get("GRADER_MAX_NOTEBOOK_BYTES", 5 * 1024 * 1024)),
            unsafe_no_sandbox=_flag("GRADER_UNSAFE_NO_SANDBOX"),
            sandbox_dir=Path(sandbox_dir),
            sandbox_uids=range(uid_base, uid_base + uid_count) if root else None,
        )
