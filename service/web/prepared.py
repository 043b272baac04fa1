"""What pages show of a submission that is costly to make (its notebook view, its report's pictures), made
once outside any request and stored by the store; a page view only reads.

The worker makes them right after it recorded the result (`prepare`). For a submission graded before
that (nothing stored yet), the first view makes each one once: the notebook view in a child process
under a time limit (notebook_view.made_apart), at most RENDERERS at once; a picture drawn from the
report as recorded (a report without the reference's curve is drawn without it: no page ever trains).
Concurrent first views of the same thing wait for the one making it (single flight, per submission):
no lock is shared between submissions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict

from service.models import Submission
from service.store import Store
from service.web import i18n, notebook_view, plots

log = logging.getLogger(__name__)
PLOTS: dict[str, Callable[[dict, Callable[..., str]], plots.Plot | None]] = {
    "gradient": plots.gradient_check, "training": plots.training}
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
        notebook(store, submission)
        for kind in PLOTS:
            for lang in i18n.LANGUAGES:
                picture(store, submission.id, recorded.report, kind, lang)
    except Exception:  # noqa: BLE001 - the result is recorded; its views can still be made when first looked at
        log.exception("could not prepare the views of submission %s", submission_id)


def notebook(store: Store, submission: Submission) -> dict:
    """The submission's notebook view (notebook_view.render's dict): stored, or made once and stored."""
    stored = store.rendering(submission.id, "notebook")
    if stored is None:
        with _single_flight(f"{submission.id}:notebook"):
            stored = store.rendering(submission.id, "notebook")
            if stored is None:
                with RENDERERS:
                    view = notebook_view.made_apart(submission.notebook, VIEW_SECONDS)
                store.save_rendering(submission.id, "notebook", "", json.dumps(view))
                return view
    return json.loads(stored.body)


def picture(store: Store, submission_id: str, report: dict, kind: str, lang: str) -> plots.Plot | None:
    """One of the report's pictures in `lang`, drawn once per report and language; None when there is no
    such kind or nothing to draw."""
    draw = PLOTS.get(kind)
    if draw is None or lang not in i18n.LANGUAGES:
        return None
    name, digest = f"plot:{kind}:{lang}", _digest(report)
    stored = store.rendering(submission_id, name)
    if stored is None or stored.made_from != digest:
        with _single_flight(f"{submission_id}:{name}"):
            stored = store.rendering(submission_id, name)
            if stored is None or stored.made_from != digest:
                plot = draw(report, i18n.translator(lang))
                store.save_rendering(submission_id, name, digest, json.dumps(asdict(plot) if plot else None))
                return plot
    found = json.loads(stored.body)
    return plots.Plot(**found) if found else None


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
