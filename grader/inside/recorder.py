"""The generic recorder of a probe: each output's value (snapshotted) or the exception that
stopped it, and how a probe's later calls on the same object name their outputs.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import wire

STUDENT_FILES = ("In [", "cell ")


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """Type, message and the frames in the student's cells, for feedback; a harness stop also
    carries its code and facts (wire.Stop), which is what the trusted side reads of it."""
    try:
        message = str(exc)[:500]
    except Exception:  # a hostile __str__
        message = "<unprintable>"
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(STUDENT_FILES) or frame.filename == "<reference>":
            frames.append([frame.filename, frame.lineno, frame.name])
    described = {"type": type(exc).__name__, "message": message, "frames": frames[-5:]}
    try:
        stop = exc.describe() if isinstance(exc, wire.Stop) else None
    except Exception:  # a stop raised by student code with facts of its own
        stop = None
    if stop is not None:
        described["stop"] = stop
    return described


class Recorder:
    """Collects a probe's outputs (snapshotted) and the error that stopped each one."""

    def __init__(self) -> None:
        self.outputs: dict[str, Any] = {}
        self.errors: dict[str, dict[str, Any]] = {}

    def put(self, name: str, value: Any) -> None:
        if isinstance(value, np.ndarray):
            value = np.array(value, copy=True)
        self.outputs[name] = value

    def failed(self, *names: str) -> bool:
        return any(n in self.errors for n in names)

    @contextmanager
    def stage(self, *names: str) -> Iterator[None]:
        """Run one step; an exception there (even SystemExit) is charged to `names`."""
        try:
            yield
        except BaseException as exc:  # noqa: B036 - student code may raise anything
            info = describe_exception(exc)
            for name in names:
                if name not in self.outputs:
                    self.errors.setdefault(name, info)


def fresh(spec: list, inputs: dict[str, np.ndarray]) -> list:
    """Fresh copies of named inputs (student code may modify them); numbers pass as they are."""
    return [np.array(inputs[a], copy=True) if isinstance(a, str) else a for a in spec]


def nth(name: str, call: int) -> str:
    """The output `name` of a probe's later call on the same object: `dx_2` is the second's dx."""
    return name if call == 0 else f"{name}_{call + 1}"


def inputs_of_call(inputs: dict, call: int, names: list) -> dict:
    """A later call's inputs: `x2` stands for `x` on the second call, where the spec draws one."""
    later = {n: inputs[f"{n}{call + 1}"] for n in names if isinstance(n, str) and f"{n}{call + 1}" in inputs}
    return {**inputs, **later} if call else inputs


def charge_later_calls(rec: Recorder, names: tuple[str, ...], calls: int) -> None:
    """A first call that failed fails the later calls too (with the same error), not silently."""
    for name in names:
        if name in rec.errors:
            for call in range(1, calls):
                rec.errors.setdefault(nth(name, call), rec.errors[name])
