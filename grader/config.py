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

    @classmethod
    def from_env(cls) -> Settings:
        cache = os.environ.get("GRADER_CACHE_DIR") or str(Path.home() / ".cache" / "nn-grader")
        mnist = os.environ.get("GRADER_MNIST_DIR")
        return cls(
            cache_dir=Path(cache),
            mnist_dir=Path(mnist) if mnist else None,
            max_notebook_bytes=int(os.environ.get("GRADER_MAX_NOTEBOOK_BYTES", 5 * 1024 * 1024)),
            unsafe_no_sandbox=_flag("GRADER_UNSAFE_NO_SANDBOX"),
        )
