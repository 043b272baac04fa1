"""The reconciler: a periodic sweep in the API process that re-enqueues submissions left behind."""

from __future__ import annotations

import logging
import threading

from service import lifecycle
from service.lifecycle import Publisher
from service.store import Store

log = logging.getLogger(__name__)


class Reconciler:
    """Every `every` seconds, resend what sat in queued/running longer than `requeue_after`, and hand out the
    turns owed to students whose submissions wait (at most `limit` each queued or running)."""

    def __init__(self, store: Store, publisher: Publisher, every: float, requeue_after: float, limit: int) -> None:
        self.store, self.publisher, self.every, self.requeue_after = store, publisher, every, requeue_after
        self.limit = limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reconciler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                resent = lifecycle.reconcile(self.store, self.publisher, self.requeue_after, self.limit)
                if resent:
                    log.warning("reconciler re-enqueued %d submission(s): %s", len(resent), ", ".join(resent))
            except Exception:  # noqa: BLE001 - a database hiccup must not end the sweeps
                log.exception("reconciler sweep failed; retrying at the next one")
