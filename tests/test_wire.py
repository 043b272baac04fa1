"""The frame codec between sandbox and grader keeps values exactly and refuses anything else."""

from __future__ import annotations

import numpy as np
import pytest

from grader.inside import wire


def roundtrip(header: dict, arrays: dict) -> tuple[dict, dict]:
    frame = wire.encode(header, arrays)
    head_len = int.from_bytes(frame[:4], "big")
    return wire.decode(frame[8:8 + head_len], frame[8 + head_len:])


def test_arrays_of_every_shape_come_back_identical():
    arrays = {"scalar": np.array(2.5), "label": np.array(3), "vector": np.arange(4.0),
              "strided": np.arange(12.0).reshape(3, 4)[:, ::2], "mask": np.array([True, False])}
    header, got = roundtrip({"op": "result", "text": "日本語"}, arrays)
    assert header == {"op": "result", "text": "日本語"}
    for name, array in arrays.items():
        assert got[name].shape == array.shape and got[name].dtype == array.dtype
        np.testing.assert_array_equal(got[name], array)


def test_object_arrays_and_garbage_are_refused():
    with pytest.raises(ValueError):
        wire.encode({}, {"objects": np.array([object()], dtype=object)})
    with pytest.raises(wire.WireError):
        wire.decode(b"not json", b"")
    with pytest.raises(wire.WireError):
        wire.decode(b'{"arrays": [["x", 10]]}', b"\x93NUMPY garbage")
