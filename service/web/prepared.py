"""What pages show of a submission that is costly to make (its notebook view, its report's pictures), made
once outside any request and stored by the store; a page view only reads.

The worker makes them right after it recorded the result (`prepare`), in its own process: what is rendered
is bounded (cells, outputs, characters), so the notebook view and the two pictures cost
milliseconds (service/web/charts.py), not a child interpreter's start (1.2–1.6 s, more than grading a small
notebook). For a submission graded before that (nothing stored yet), the first view makes each one once:
the notebook view in a child process
under a time limit (notebook_view.made_apart), at most RENDERERS at once; a picture drawn from the
report as recorded (pictures have no words, so one drawing serves every language; a report without
the reference's curve is drawn without it: no page ever trains). Concurrent first views of the same
thing wait for the one making it (single flight, per submission): no lock is shared between submissions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from service.models import Submission
from service.store import Store
from service.web import notebook_view, plots

log = logging.getLogger(__name__)
T = TypeVar("T")
VIEW_SECONDS = 20.0                      # a notebook view not made by then is shown as plain text
RENDERERS = threading.BoundedSemaphore(2)
_flights: dict[str, threading.Lock] = {}
_flights_lock = threading.Lock()


def prepare(store: Store, submission_id: str) -> None:
    """Everything the pages show of a graded submission, made now and stored (the worker, once it recorded
    the result). A failure here costs only this: the first view makes what is missing."""
    submission, recorded = store.submission(submission_id), store.result(submission_id)
    if submission is None or recorded is None:
        return
    try:
        notebook(store, submission, apart=False)
        for kind in plots.DRAWINGS:
            picture(store, submission.id, recorded.report, kind)
    except Exception:  # noqa: BLE001 - the result is recorded; its views can still be made when first looked at
        log.exception("could not prepare the views of submission %s", submission_id)


def notebook(store: Store, submission: Submission, apart: bool = True) -> dict:
    """The submission's notebook view (notebook_view.render's dict): stored, or made once and stored; `apart`
    (a page's first view) makes it in a child process under a time limit, else here (the worker)."""
    def make() -> dict:
        if not apart:
            return notebook_view.render(submission.notebook)
        with RENDERERS:
            return notebook_view.made_apart(submission.notebook, VIEW_SECONDS)
    return _once(store, submission.id, "notebook", "", make)


def picture(store: Store, submission_id: str, report: dict, kind: str) -> str | None:
    """One of the report's pictures (an SVG without words, the same in every language), drawn once per
    report; None when there is no such kind or nothing to draw."""
    if kind not in plots.DRAWINGS:
        return None
    return _once(store, submission_id, f"plot:{kind}", _digest(report), lambda: plots.DRAWINGS[kind][0](report))


def _once(store: Store, submission_id: str, name: str, made_from: str, make: Callable[[], T]) -> T:
    """The rendering `name` as stored if it was made from `made_from`; else made now by `make` and stored,
    by one maker at a time (the others wait, then read it)."""
    stored = store.rendering(submission_id, name)
    if stored is None or stored.made_from != made_from:
        with _single_flight(f"{submission_id}:{name}"):
            stored = store.rendering(submission_id, name)
            if stored is None or stored.made_from != made_from:
                made = make()
                store.save_rendering(submission_id, name, made_from, json.dumps(made))
                return made
    return json.loads(stored.body)


def _digest(report: dict) -> str:
    """What a picture was drawn from: a regrade's new report is drawn anew."""
    return hashlib.sha256(json.dumps(report, sort_keys=True, default=str).encode()).hexdigest()


@contextmanager
def _single_flight(key: str) -> Iterator[None]:
    """One maker per key; the others wait for it and then read what it stored."""
    with _flights_lock:
        lock = _flights.setdefault(key, threading.Lock())
    with lock:
        yield
    with _flights_lock:
        if _flights.get(key) is lock:
            del _flights[key]
