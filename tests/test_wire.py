"""The frame codec between sandbox and grader keeps values exactly and refuses anything else."""

from __future__ import annotations

import numpy as np
import pytest

from grader import catalogue
from grader.inside import wire
from grader.inside.recorder import describe_exception
from grader.languages import LANGUAGES


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


def test_arrays_come_back_writable_in_their_own_layout_and_byte_order():
    arrays = {"fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "big_endian": np.arange(3, dtype=">i4"),
              "empty": np.zeros((0, 3)), "half": np.arange(3, dtype=np.float16)}
    _, got = roundtrip({}, arrays)
    for name, array in arrays.items():
        assert got[name].dtype == array.dtype and got[name].flags.writeable   # student code may write into inputs
        np.testing.assert_array_equal(got[name], array)
    assert got["fortran"].flags.f_contiguous


def test_an_array_whose_data_does_not_fill_its_shape_is_refused():
    frame = wire.encode({}, {"x": np.arange(4.0)})
    head_len = int.from_bytes(frame[:4], "big")
    head, payload = frame[8:8 + head_len], frame[8 + head_len:]
    for cut in (payload[:-8], payload + bytes(8)):
        with pytest.raises(wire.WireError):
            wire.decode(head.replace(str(len(payload)).encode(), str(len(cut)).encode()), cut)


def test_object_arrays_and_garbage_are_refused():
    with pytest.raises(ValueError):
        wire.encode({}, {"objects": np.array([object()], dtype=object)})
    with pytest.raises(wire.WireError):
        wire.decode(b"not json", b"")
    with pytest.raises(wire.WireError):
        wire.decode(b'{"arrays": [["x", 10]]}', b"\x93NUMPY garbage")


def test_every_frame_kind_is_declared_once_and_builds_only_its_fields():
    assert set(wire.FRAMES) == {"load", "stmt_start", "stmt_done", "loaded", "run", "probe", "result", "exit"}
    assert wire.STMT_DONE(id=3, error=None) == {"op": "stmt_done", "id": 3, "error": None}
    assert wire.RESULT.of({"op": "result"}) and not wire.RESULT.of({"op": "loaded"})
    with pytest.raises(TypeError):
        wire.STMT_START(id=1, score=37)  # a field the protocol does not have


def test_each_harness_stop_crosses_as_its_code_and_facts_with_a_message_in_every_language():
    stop = wire.TrainingTooSlow(limit=2.0, steps=600, total=1200.0)
    assert str(stop).startswith("one gradient() call took over 2 s, so 600 steps would take over 1200 s")
    assert stop.describe() == {"code": "training_too_slow", "facts": {"limit": 2.0, "steps": 600, "total": 1200.0}}
    header, _ = roundtrip({"error": {"stop": wire.ShapeMismatch(array="grads['b1']", got_shape=(100,),
                                                                  expected_shape=(50,)).describe()}}, {})
    assert wire.read_stop(header["error"]["stop"]) == {
        "code": "shape_mismatch", "facts": {"array": "grads['b1']", "got_shape": (100,), "expected_shape": (50,)}}
    for code in wire.STOPS:  # a stop's code is its message's key
        assert set(catalogue.table("messages")[code]) == set(LANGUAGES), code


FORGED = [None, "not_backprop", {"code": "all_passed", "facts": {}}, {"code": ["not_backprop"], "facts": {}},
          {"code": "training_too_slow", "facts": {"limit": "2", "steps": 600, "total": 1200}},
          {"code": "training_too_slow", "facts": {"limit": float("nan"), "steps": 600, "total": 1200}},
          {"code": "training_too_slow", "facts": {"limit": 2, "steps": True, "total": 1200}},
          {"code": "training_too_slow", "facts": {"limit": 2, "steps": 10**30, "total": 1200}},
          {"code": "gradient_too_slow", "facts": {"limit": 1.0}},
          {"code": "shape_mismatch", "facts": {"array": "x" * 41, "got_shape": [1], "expected_shape": [2]}},
          {"code": "shape_mismatch", "facts": {"array": "a\x1b[2J", "got_shape": [1], "expected_shape": [2]}},
          {"code": "shape_mismatch", "facts": {"array": "a", "got_shape": [1.5], "expected_shape": [2]}},
          {"code": "shape_mismatch", "facts": {"array": "a", "got_shape": [-1], "expected_shape": [2]}}]


@pytest.mark.parametrize("raw", FORGED)
def test_a_forged_or_malformed_stop_is_dropped_on_the_trusted_side(raw):
    """Student code can write any frame: only a known code with each declared fact of its kind counts."""
    assert wire.read_stop(raw) is None


def test_extra_facts_of_a_stop_are_dropped():
    raw = {"code": "not_backprop", "facts": {"passes": 4, "score": 37, "message": "all passed"}}
    assert wire.read_stop(raw) == {"code": "not_backprop", "facts": {"passes": 4}}


def test_the_harness_describes_its_own_stops_with_their_facts_and_no_others():
    genuine = describe_exception(wire.GradientTooSlow(limit=1.0, parameters=41110))
    assert genuine["type"] == "GradientTooSlow" and genuine["message"].startswith("gradient() took over 1 s")
    assert genuine["stop"] == {"code": "gradient_too_slow", "facts": {"limit": 1.0, "parameters": 41110}}

    class Forged(wire.Stop):  # student code may raise a stop of its own making
        code, declared, wording = "not_backprop", {"passes": wire.COUNT}, "{passes}"

    assert "stop" not in describe_exception(Forged(passes=object()))
    assert "stop" not in describe_exception(ValueError("grads['b1'] has shape (100,), expected (50,)"))
