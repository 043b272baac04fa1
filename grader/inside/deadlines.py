"""Deadlines inside a probe: stop a call that takes seconds where backprop takes milliseconds,
rather than wait for the unit's time limit (a harness stop, wire.TrainingTooSlow or GradientTooSlow).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from . import wire


@contextmanager
def deadline(limit: float, stop: Callable[[], Exception]) -> Iterator[None]:
    """Raise `stop()` in a call slower than `limit` seconds, rather than wait for the unit's time
    limit: backprop of one batch takes milliseconds, a numerical gradient minutes. (Outside the
    main thread, where no alarm can be set, a slow call is only caught when it returns.)"""
    def slow(*_: Any) -> None:
        raise stop()
    alarm = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGALRM, slow) if alarm else None
    started = time.monotonic()
    if alarm:
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if time.monotonic() - started > limit:
        slow()


def step_deadline(limit: float, steps: int) -> AbstractContextManager[None]:
    """One training step's gradient() call, of `steps`."""
    return deadline(limit, lambda: wire.TrainingTooSlow(limit=limit, steps=steps, total=limit * steps))


def call_deadline(limit: float | None, parameters: int) -> AbstractContextManager[None]:
    """A probe's `max_call_seconds` for one gradient() call on a network of `parameters` (none: no deadline)."""
    if limit is None:
        return nullcontext()
    return deadline(float(limit), lambda: wire.GradientTooSlow(limit=float(limit), parameters=parameters))
