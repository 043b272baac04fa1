"""The upload check (`grader.intake`: JSON, the cheap caps, the schema) in processes of its own, off the event loop.

The check is CPU-bound, and json and schema work hold the GIL: in a thread of the API process a hostile
notebook would still stall every other request. Each slot is a one-process pool at a lower CPU priority,
started (and warmed) with the app; a check that outlives `GRADER_INTAKE_SECONDS`, or kills its process, is
refused with `too_slow_to_check` and its process is replaced. Uploads beyond the slots wait their turn
without holding the loop. The CLI runs the same `grader.intake` in its own process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from grader import intake

SLOTS = 2
NICENESS = 10       # below the API process: on a busy machine the checks wait for the CPU, not the requests
_WARM_UP = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}'


def _check(blob: bytes, max_bytes: int) -> tuple[str, dict] | None:
    """In the checking process: None for a notebook that passes, else the refusal's (code, params)."""
    try:
        intake.read_bytes(blob, max_bytes)
    except intake.IntakeError as err:
        return err.code, err.params
    return None


class UploadCheck:
    """`SLOTS` checking processes; `check` is the async face of `intake.read_bytes` with a time limit."""

    def __init__(self, seconds: float, slots: int = SLOTS) -> None:
        self.seconds, self.slots = seconds, slots
        self._idle: asyncio.Queue[ProcessPoolExecutor] | None = None

    def start(self) -> None:
        """In the app's event loop, at start-up."""
        self._idle = asyncio.Queue()
        for _ in range(self.slots):
            self._idle.put_nowait(_spawn())

    def stop(self) -> None:
        while self._idle is not None and not self._idle.empty():
            _kill(self._idle.get_nowait())

    async def check(self, blob: bytes, max_bytes: int) -> None:
        """Return when the notebook passes; raise the intake's IntakeError otherwise."""
        if self._idle is None:
            raise RuntimeError("UploadCheck.start() runs with the app")
        pool = await self._idle.get()
        try:
            refusal = await asyncio.wait_for(asyncio.wrap_future(pool.submit(_check, blob, max_bytes)), self.seconds)
        except (TimeoutError, BrokenProcessPool):
            _kill(pool)
            pool = _spawn()
            raise intake.IntakeError("too_slow_to_check", seconds=self.seconds) from None
        finally:
            self._idle.put_nowait(pool)
        if refusal is not None:
            raise intake.IntakeError(refusal[0], **refusal[1])


def _spawn() -> ProcessPoolExecutor:
    """A fresh checking process (spawned: the API process has threads), its imports and validator warmed."""
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=os.nice,
                               initargs=(NICENESS,))
    pool.submit(_check, _WARM_UP, len(_WARM_UP))
    return pool


def _kill(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now, even in the middle of a check (a pool cannot cancel a running call)."""
    kill = getattr(pool, "kill_workers", None)           # Python 3.14+
    if kill is not None:
        kill()
    else:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
