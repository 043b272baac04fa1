"""The sandbox's runtime: the interpreter, its standard library and numpy, staged in one neutral folder.

The grader's own interpreter may live where a sandbox user cannot read it
(pyenv under /root) and its paths name the host's layout, which a bind
mount shows in /proc/self/mountinfo. So the few files a sandbox needs are
staged once, as hard links where the filesystem allows (else copies),
into `<sandbox dir>/runtime/<fingerprint>`: world-readable, free of
site-packages, and mounted whole at /opt/runtime.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import sysconfig
from pathlib import Path

import numpy as np

MOUNT = "/opt/runtime"
SKIP = {"site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3"}


def staged(sandbox_dir: Path) -> tuple[Path, str]:
    """The staged runtime folder and its interpreter's path inside the sandbox; staged on first use, and again
    when the folder went away (a cleaned /var/lib: a long-running worker restages rather than fail for ever)."""
    key, parts, python = _parts()
    final = sandbox_dir / "runtime" / key
    if not final.is_dir():
        _stage(final, parts)
    return final, python


@functools.cache
def _parts() -> tuple[str, dict[Path, str], str]:
    """What is staged (source -> path under the staged folder), the key naming that version, and the
    interpreter's path inside the sandbox: the same for the whole life of this process."""
    prefix = Path(sys.base_prefix).resolve()
    executable = Path(os.path.realpath(sys.executable))
    stdlib = Path(sysconfig.get_paths(vars={"installed_base": str(prefix), "base": str(prefix)})["stdlib"])
    numpy_dir = Path(np.__file__).resolve().parent
    parts = {
        executable: f"python/bin/{executable.name}",
        stdlib: f"python/lib/{stdlib.name}",
        numpy_dir: "site/numpy",
        numpy_dir.parent / "numpy.libs": "site/numpy.libs",
        **{lib: f"python/lib/{lib.name}" for lib in (prefix / "lib").glob("libpython*.so*")},
    }
    parts = {source: target for source, target in parts.items() if source.exists()}
    key = hashlib.sha256(repr(sorted((str(s), t, s.stat().st_mtime_ns) for s, t in parts.items())).encode()
                         + np.__version__.encode() + sys.version.encode()).hexdigest()[:16]
    return key, parts, f"{MOUNT}/python/bin/{executable.name}"


def _stage(final: Path, parts: dict[Path, str]) -> None:
    """Build in a sibling folder, then rename it into place, so concurrent graders never see half of it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    for folder in (final.parent.parent, final.parent):   # the sandbox's user passes through, whatever the umask
        os.chmod(folder, 0o755)
    building = final.with_name(f".{final.name}-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    for source, target in parts.items():
        _place(source, building / target)
    for folder, _, _ in os.walk(building):
        os.chmod(folder, 0o755)
    try:
        building.rename(final)
    except OSError:  # another grader finished first
        shutil.rmtree(building, ignore_errors=True)


def _place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy,
                        ignore=lambda _, names: [n for n in names if n in SKIP])
    else:
        _link_or_copy(source, target)


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    """A hard link costs nothing; a copy is the fallback across filesystems or for files not ours.
    Either way the sandbox user must be able to read it."""
    if os.path.islink(source):
        os.symlink(os.readlink(source), target)
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
    if not os.stat(target).st_mode & 0o004:
        shutil.copy2(source, f"{target}.copy")  # never chmod a hard-linked original
        os.replace(f"{target}.copy", target)
        os.chmod(target, os.stat(target).st_mode | 0o444)
