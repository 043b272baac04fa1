"""Host identities for sandboxes: one unprivileged UID/GID per concurrent sandbox, leased by lock file.

Per-user kernel resources (inotify instances, keyrings, pipe buffers,
RLIMIT_NPROC) are counted by the host UID that owns the sandbox's user
namespace. When the grader runs as root, each sandbox is started under a
UID of its own from the configured range (as isolate's boxes are), so a
sandbox can exhaust only its own quotas. A lease is an flock on
`<sandbox dir>/uids/<uid>.lock`: held across processes, released by the
kernel even when the grader dies.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import random
from dataclasses import dataclass
from pathlib import Path


class NoIdentityFree(RuntimeError):
    """Every UID in the range is in use by another sandbox (raise the count or lower --jobs)."""


@dataclass
class Lease:
    uid: int
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def check_range(uids: range) -> None:
    """Refuse a range that could hand root's or the grader's own identity to student code."""
    if uids.start <= 0 or os.getuid() in uids or os.geteuid() in uids or len(uids) == 0:
        raise ValueError(f"sandbox UID range {uids.start}-{uids.stop - 1} must be non-empty, above 0 "
                         f"and exclude the grader's own UID {os.getuid()}")


def lease(uids: range, sandbox_dir: Path) -> Lease:
    """Take a free UID from `uids` (used as GID too); it is the caller's until `release`."""
    check_range(uids)
    folder = sandbox_dir / "uids"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    start = random.randrange(len(uids))  # spread concurrent graders over the range
    for i in range(len(uids)):
        uid = uids[(start + i) % len(uids)]
        if _named(uid):
            continue
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return Lease(uid, fd)
    raise NoIdentityFree(f"all {len(uids)} sandbox UIDs from {uids.start} are in use")


def _named(uid: int) -> bool:
    """A UID that belongs to an account of this host is never lent to a sandbox."""
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True
