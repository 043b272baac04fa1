"""Length-prefixed frames: a JSON header followed by raw .npy payloads.

The same codec runs on both sides. The trusted side decodes defensively:
sizes are capped, arrays are loaded with allow_pickle=False and only
numeric or boolean dtypes are accepted, so nothing from the sandbox is
ever unpickled or executed.
"""

from __future__ import annotations

import io
import json
import os
import struct

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
            array = np.load(io.BytesIO(payload[offset:offset + size]), allow_pickle=False)
        except Exception as exc:  # any parse failure of untrusted bytes is the frame's fault
            raise WireError(f"array {name!r} is not a plain .npy: {exc}") from None
        if not isinstance(array, np.ndarray) or array.dtype.kind not in _ALLOWED_KINDS:
            raise WireError(f"array {name!r} has unsupported dtype")
        arrays[name] = array
        offset += size
    return header, arrays


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
