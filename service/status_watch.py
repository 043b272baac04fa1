"""Waiting for a submission's status to change (the result page's long poll), without holding the API process.

A waiting request holds no thread, only an asyncio future. One task per API process asks the records, every
`tick`, for the statuses of every submission some request of this process waits on: one short query however
many wait, and the signal is the database's own (a worker on any machine writes it; any API process reads it),
never this process's memory. A student may hold only `per_student` waits at a time in a process, and the
process `total`: past either, a request is answered at once with what is known (the page then asks again later).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from starlette.concurrency import run_in_threadpool

from service.store import Store

log = logging.getLogger(__name__)
Outcome = Literal["changed", "timeout", "busy"]


class StatusWatch:
    def __init__(self, store: Store, tick: float = 0.1, per_student: int = 3, total: int = 2000) -> None:
        self.store, self.tick, self.per_student, self.total = store, tick, per_student, total
        self._waiting: dict[asyncio.Future[str], tuple[str, str]] = {}   # future -> (submission id, known status)
        self._held: Counter[str] = Counter()          # waits held by each principal
        self._loop_task: asyncio.Task[None] | None = None

    async def wait(self, submission_id: str, who: str, known: str, timeout: float) -> Outcome:
        """Wait up to `timeout` seconds for the submission's status to be other than `known`: `changed`, `timeout`,
        or `busy` at once (`who` already holds its share of waits here, or this process does)."""
        with self._slot(who) as admitted:
            if not admitted:
                return "busy"
            future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._waiting[future] = (submission_id, known)
            try:
                task = self._loop_task
                if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
                    self._loop_task = asyncio.create_task(self._watch())
                await asyncio.wait_for(future, timeout)
                return "changed"
            except TimeoutError:
                return "timeout"
            finally:
                self._waiting.pop(future, None)

    @contextmanager
    def _slot(self, who: str) -> Iterator[bool]:
        admitted = self._held[who] < self.per_student and len(self._waiting) < self.total
        if admitted:
            self._held[who] += 1
        try:
            yield admitted
        finally:
            if admitted:
                self._held[who] -= 1
                if not self._held[who]:
                    del self._held[who]

    async def _watch(self) -> None:
        """While anyone waits: one query per tick for every watched submission, each changed one's waiters woken."""
        while self._waiting:
            await asyncio.sleep(self.tick)
            ids = {i for i, _ in self._waiting.values()}
            try:
                now = await run_in_threadpool(self.store.statuses, ids)
            except Exception as exc:  # noqa: BLE001 - the records are unreachable a moment: ask again next tick
                log.warning("could not read the statuses waited on (%s)", exc)
                continue
            for future, (submission_id, known) in list(self._waiting.items()):
                if now.get(submission_id, known) != known and not future.done():
                    future.set_result(now[submission_id])
