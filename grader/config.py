"""Operator settings, read once from the environment with embedded defaults, and passed down.

The caller (the CLI, a worker, the service) reads them once with `Settings.from_env()` and hands
them to the pipeline, which hands them to the sandbox: no other module of the core reads the
environment. A malformed value is refused here, naming its variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS_DIR = REPO_ROOT / "assignments"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


class SettingsError(ValueError):
    """A GRADER_* variable whose value cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    """What an operator may configure; every field has a working default."""

    cache_dir: Path
    mnist_dir: Path | None
    max_notebook_bytes: int
    unsafe_no_sandbox: bool
    sandbox_dir: Path = Path("/var/lib/nn-grader")  # staged runtime and UID leases (grader/sandbox/runtime.py)
    sandbox_uids: range | None = None               # host UIDs for sandboxes, when the grader runs as root
    training_key: int | None = None                 # the training probe's key; None: this machine's own (CLI only)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        cache = env.get("GRADER_CACHE_DIR") or str(Path.home() / ".cache" / "nn-grader")
        mnist = env.get("GRADER_MNIST_DIR")
        root = os.geteuid() == 0
        sandbox_dir = env.get("GRADER_SANDBOX_DIR") or ("/var/lib/nn-grader" if root else f"{cache}/sandbox")
        uid_base = _whole(env, "GRADER_SANDBOX_UID_BASE", 900_000, "a UID", minimum=1)
        uid_count = _whole(env, "GRADER_SANDBOX_UID_COUNT", 64, "a number of UIDs", minimum=1)
        key = _whole(env, "GRADER_TRAINING_KEY", 0, "the training probe's key", minimum=0)
        return cls(
            cache_dir=Path(cache),
            mnist_dir=Path(mnist) if mnist else None,
            max_notebook_bytes=_whole(env, "GRADER_MAX_NOTEBOOK_BYTES", 5 * 1024 * 1024, "a size in bytes", minimum=1),
            unsafe_no_sandbox=_flag(env, "GRADER_UNSAFE_NO_SANDBOX"),
            sandbox_dir=Path(sandbox_dir),
            sandbox_uids=range(uid_base, uid_base + uid_count) if root else None,
            training_key=key if env.get("GRADER_TRAINING_KEY", "").strip() else None,
        )


def _whole(env: Mapping[str, str], name: str, default: int, meaning: str, minimum: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number ({meaning}), not {text[:40]!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum} ({meaning}), not {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text not in _TRUE | _FALSE:
        raise SettingsError(f"{name} must be 1/true/yes/on or 0/false/no/off, not {text[:40]!r}")
    return text in _TRUE
