"""The sandbox protocol: every frame kind and every harness stop, declared once; and the codec,
length-prefixed frames of a JSON header followed by raw .npy payloads.

The same file runs on both sides. The trusted side decodes defensively:
sizes are capped, arrays are loaded with allow_pickle=False and only
numeric or boolean dtypes are accepted, so nothing from the sandbox is
ever unpickled or executed; a stop's facts are read back only as the
kinds declared here (student code can forge any frame).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

MAX_HEADER = 16 << 20  # a 5 MB notebook's statements fit
MAX_FRAME = 64 << 20
_LEN = struct.Struct(">II")  # header length, payload length
_ALLOWED_KINDS = set("biuf")


class WireError(Exception):
    """A frame that is malformed, oversize, or holds something other than plain data."""


def encode(header: dict, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """Frame a JSON-able header and named arrays (as .npy bytes)."""
    blobs = []
    index = []
    for name, array in (arrays or {}).items():
        buf = io.BytesIO()
        np.save(buf, np.asarray(array), allow_pickle=False)  # keeps 0-d arrays 0-d
        data = buf.getvalue()
        index.append([name, len(data)])
        blobs.append(data)
    head = json.dumps({**header, "arrays": index}, allow_nan=True, ensure_ascii=False).encode(errors="surrogatepass")
    payload = b"".join(blobs)
    return _LEN.pack(len(head), len(payload)) + head + payload


def decode(head: bytes, payload: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse a frame's parts; raise WireError on anything unexpected."""
    try:
        header = json.loads(head.decode(errors="surrogatepass"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays", []), list):
        raise WireError("header is not an object")
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    for item in header.pop("arrays", []):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], int) and 0 <= item[1] <= len(payload) - offset):
            raise WireError("bad array index")
        name, size = item
        try:
            array = _load_npy(payload[offset:offset + size])
        except Exception as exc:  # any parse failure of untrusted bytes is the frame's fault
            raise WireError(f"array {name!r} is not a plain .npy: {exc}") from None
        if not isinstance(array, np.ndarray) or array.dtype.kind not in _ALLOWED_KINDS:
            raise WireError(f"array {name!r} has unsupported dtype")
        arrays[name] = array
        offset += size
    return header, arrays


_NPY_V1 = b"\x93NUMPY\x01\x00"
# the header np.save writes for a plain numeric array (version 1.0): read by a pattern, not literal_eval
_NPY_HEADER = re.compile(rb"\{'descr': '([<>|][biuf]\d{1,2})', 'fortran_order': (False|True), "
                         rb"'shape': \(((?:\d{1,12}, )*(?:\d{1,12},?)?)\), \} *\n")


def _load_npy(blob: bytes) -> np.ndarray:
    """One .npy array, a fresh writable copy: np.save's own version-1.0 header of a numeric array is read
    by a pattern (np.load parses each header with literal_eval, ~80 us an array, and a probe returns
    many); any other header goes to np.load (allow_pickle=False), and the data must fill the shape exactly."""
    header_end = 10 + int.from_bytes(blob[8:10], "little")
    found = _NPY_HEADER.fullmatch(blob, 10, header_end) if blob[:8] == _NPY_V1 else None
    if found is None:
        return np.load(io.BytesIO(blob), allow_pickle=False)
    dtype = np.dtype(found[1].decode())
    shape = tuple(int(n) for n in found[3].split(b",") if n.strip())
    if len(blob) - header_end != dtype.itemsize * math.prod(shape):
        raise ValueError("the data does not fill the array's shape")
    flat = np.frombuffer(blob, dtype=dtype, offset=header_end)
    return flat.reshape(shape, order="F" if found[2] == b"True" else "C").copy(order="K")


def take_frame(buffer: bytearray) -> tuple[dict, dict[str, np.ndarray]] | None:
    """Remove and decode the first whole frame in `buffer`; None while it is incomplete."""
    if len(buffer) < _LEN.size:
        return None
    head_len, payload_len = _LEN.unpack(buffer[:_LEN.size])
    if head_len > MAX_HEADER or head_len + payload_len > MAX_FRAME:
        raise WireError("frame too large")
    total = _LEN.size + head_len + payload_len
    if len(buffer) < total:
        return None
    data = bytes(buffer[_LEN.size:total])
    del buffer[:total]
    return decode(data[:head_len], data[head_len:])


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Blocking read of one frame from a file descriptor."""
    head_len, payload_len = _LEN.unpack(_read_exact(fd, _LEN.size))
    if head_len > MAX_HEADER or head_len + payload_len > MAX_FRAME:
        raise WireError("frame too large")
    return decode(_read_exact(fd, head_len), _read_exact(fd, payload_len))


def write_frame(fd: int, frame: bytes) -> None:
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view):]


def pack(value: object) -> tuple[dict, np.ndarray | None]:
    """Describe a returned value as plain data: an array, a number, None, or just its type."""
    pytype = type(value).__name__
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value, dtype=float)
        except Exception:
            return {"type": "other", "pytype": pytype}, None
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return {"type": "array", "pytype": pytype}, value
        return {"type": "other", "pytype": f"{pytype} of {value.dtype}"}, None
    if isinstance(value, (bool, int, float, np.number, np.bool_)) and not isinstance(value, complex):
        return {"type": "number", "pytype": pytype, "value": float(value)}, None
    if value is None:
        return {"type": "none", "pytype": pytype}, None
    return {"type": "other", "pytype": pytype}, None


# --- frame kinds: who sends each, and the fields of its header (besides `op`) -------------------


@dataclass(frozen=True)
class Kind:
    """One kind of frame: its `op`, who sends it, and the fields of its header."""

    op: str
    sender: str                   # "grader", "harness" (the sandbox's main process) or "child" (a unit run)
    fields: tuple[str, ...]

    def __call__(self, **fields: Any) -> dict[str, Any]:
        """A header of this kind, with exactly its fields."""
        if set(fields) != set(self.fields):
            raise TypeError(f"a {self.op} frame has the fields {self.fields}, not {tuple(fields)}")
        return {"op": self.op, **fields}

    def of(self, header: dict) -> bool:
        return header.get("op") == self.op


# Loading: `load` (the statements, in order, and the limits to apply first); per statement
# `stmt_start` then `stmt_done` (its error, a described exception, or None); then `loaded`.
LOAD = Kind("load", "grader", ("limits", "own_pid_namespace", "files", "skip", "statements"))
STMT_START = Kind("stmt_start", "harness", ("id",))
STMT_DONE = Kind("stmt_done", "harness", ("id", "error"))
LOADED = Kind("loaded", "harness", ())
# Units: `run` (its probes; arrays `<probe>/<input>`, and `substitutes`, the marshalled reference
# code); the forked child sends one `probe` frame per probe (arrays `<output>`) to the harness,
# which answers the grader with one `result` (arrays `<probe>/<output>`); `exit` ends the session.
RUN = Kind("run", "grader", ("unit", "timeout", "probes"))
PROBE = Kind("probe", "child", ("probe", "outputs", "errors"))
RESULT = Kind("result", "harness", ("unit", "status", "exit_code", "probes", "bad_frame", "output"))
EXIT = Kind("exit", "grader", ())
FRAMES = {kind.op: kind for kind in (LOAD, STMT_START, STMT_DONE, LOADED, RUN, PROBE, RESULT, EXIT)}
# A result's `status` is "ok" (the child ended) or "timeout"; its `bad_frame`, None or one of:
BAD_FRAMES = ("oversize", "malformed")       # why the child's frames could not be read
# A described exception (an `error` of stmt_done, a value of a probe frame's `errors`): `type`,
# `message`, `frames` ([cell, line, function] in the student's cells), and `stop` for a harness stop.


# --- harness stops: the probes' own verdicts of "this cannot be right", with their facts ---------

SECONDS, COUNT, SHAPE, NAME = "seconds", "count", "shape", "name"


def _seconds(value: object) -> float | None:
    return float(value) if type(value) in (int, float) and 0 <= value <= 1e9 else None  # nan compares false


def _count(value: object) -> int | None:
    return value if type(value) is int and 0 <= value < 10**12 else None


def _shape(value: object) -> tuple[int, ...] | None:
    ok = isinstance(value, list | tuple) and len(value) <= 64 and all(type(n) is int and 0 <= n < 2**40
                                                                       for n in value)
    return tuple(value) if ok else None


def _name(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= 40 and value.isprintable() else None


FACT_KINDS: dict[str, Callable[[object], Any]] = {SECONDS: _seconds, COUNT: _count, SHAPE: _shape, NAME: _name}


class Stop(Exception):
    """A probe stopped by the harness itself. `code` names the feedback message (its key in the
    catalogue's table `messages`), `declared` its facts and their kinds; str() says it in English for the
    student's traceback, while the trusted side reads only `code` and the facts."""

    code: ClassVar[str]
    declared: ClassVar[dict[str, str]]
    wording: ClassVar[str]

    def __init__(self, **facts: Any) -> None:
        self.facts = facts
        super().__init__(self.wording.format(**facts))

    def describe(self) -> dict[str, Any] | None:
        """The stop as a described exception carries it (None where its facts are not as declared)."""
        return read_stop({"code": self.code, "facts": self.facts})


class NotBackpropagation(Stop):
    """`gradient` evaluated the network many times: a numerical gradient, not backprop."""

    code, declared = "not_backprop", {"passes": COUNT}
    wording = ("gradient() ran the network forward more than {passes} times for one batch: that is a numerical "
               "gradient; backpropagation needs one forward and one backward pass")


class TrainingTooSlow(Stop):
    """One training step took seconds: the run could not finish in time (and is not backprop)."""

    code, declared = "training_too_slow", {"limit": SECONDS, "steps": COUNT, "total": SECONDS}
    wording = ("one gradient() call took over {limit:g} s, so {steps} steps would take over {total:.0f} s: "
               "backpropagation of one batch takes milliseconds (is it a numerical gradient?)")


class GradientTooSlow(Stop):
    """One gradient() call on a probe's network took seconds: not backprop (the grader's own
    evidence is the CPU time it measures outside; this only stops the call early)."""

    code, declared = "gradient_too_slow", {"limit": SECONDS, "parameters": COUNT}
    wording = ("gradient() took over {limit:g} s for one batch of a network with {parameters} parameters: "
               "backpropagation takes milliseconds (is it a numerical gradient?)")


class ShapeMismatch(Stop):
    """An array of the student's network (`params['W1']`, `grads['b1']`) has the wrong shape."""

    code, declared = "shape_mismatch", {"array": NAME, "got_shape": SHAPE, "expected_shape": SHAPE}
    wording = "{array} has shape {got_shape}, expected {expected_shape}"


class NotANumber(Stop):
    """A value the harness computes with as one number (the network's loss) is not one."""

    code, declared = "not_a_number", {"function": NAME, "got_type": NAME, "got_shape": SHAPE}
    wording = "{function} must return a single number; it returned a {got_type} of shape {got_shape}"


class MissingKey(Stop):
    """A dict the harness reads by key (`net.params`, what gradient() returns) lacks one: its keys
    say what the student named them instead (`'w1'`)."""

    code, declared = "missing_key", {"array": NAME, "keys": NAME}
    wording = "there is no {array}: the dict's keys are {keys}; 'W1', 'b1', 'W2' and 'b2' are expected"


class NotADict(Stop):
    """What the harness reads by key (`net.params`, what gradient() returns) is no dict at all."""

    code, declared = "not_a_dict", {"array": NAME, "got_type": NAME}
    wording = "there is no {array}: a dict holding 'W1', 'b1', 'W2' and 'b2' is expected, not this {got_type}"


class NotAnArray(Stop):
    """A value the harness computes with as an array of numbers (a parameter, a gradient) is not one."""

    code, declared = "not_an_array", {"array": NAME, "got_type": NAME}
    wording = "{array} is a {got_type}; a numpy array of numbers is expected"


class ArgumentShape(Stop):
    """The grader's own function was called with an array of another shape than the one it was given for."""

    code, declared = "argument_shape", {"function": NAME, "got_shape": SHAPE, "expected_shape": SHAPE}
    wording = "{function} was called with an array of shape {got_shape}; it takes x itself, of shape {expected_shape}"


STOPS: dict[str, type[Stop]] = {stop.code: stop for stop in (NotBackpropagation, TrainingTooSlow, GradientTooSlow,
                                                             ShapeMismatch, NotANumber, MissingKey, NotADict,
                                                             NotAnArray, ArgumentShape)}


def type_name(value: object) -> str:
    """A value's type as a stop's NAME fact can carry it (a student's class may be named anything)."""
    name = type(value).__name__
    return name if isinstance(name, str) and len(name) <= 40 and name.isprintable() else "object"


def key_list(values: dict) -> str:
    """A dict's keys as a stop's NAME fact can carry them (`['w1', 'b1']`, cut short with `…]`)."""
    try:
        keys = list(values)
        listed = repr([k if isinstance(k, str | int) else type_name(k) for k in keys[:8]])
    except Exception:  # a hostile __iter__, or a str subclass with a hostile __repr__
        return "[…]"
    listed = listed if len(keys) <= 8 else listed[:-1] + ", …]"
    listed = "".join(c if c.isprintable() else "?" for c in listed)
    return listed if len(listed) <= 40 else listed[:38] + "…]"


def shape_of(value: object) -> tuple[int, ...]:
    """A value's shape as a stop's SHAPE fact, () where it has none (or a hostile one)."""
    try:
        shape = tuple(int(n) for n in np.shape(value))
    except Exception:  # a student object whose __len__ or __array__ raises
        return ()
    return shape if _shape(shape) is not None else ()


def read_stop(raw: object) -> dict[str, Any] | None:
    """A stop as plain data, `{"code", "facts"}`: a known code with every declared fact of its kind
    and nothing else, or None."""
    code = raw.get("code") if isinstance(raw, dict) else None
    stop = STOPS.get(code) if isinstance(code, str) else None
    facts = raw.get("facts") if stop is not None else None
    if not isinstance(facts, dict):
        return None
    read = {name: FACT_KINDS[kind](facts.get(name)) for name, kind in stop.declared.items()}
    return None if None in read.values() else {"code": stop.code, "facts": read}
