"""What must be equal on every machine, from the shared configuration in the database: the training probe's key
(reports), the pages' session secret, the notebook size limit, the upload rate, the requeue deadline, the attempts,
a student's turns at once and the MNIST location (and, kept beside them by service/lti/keys.py, the LTI tool's
key pair). No machine keeps a file of its own for any of these.

The API side (`grader serve`, the API app, `grader migrate`) writes them at start from its environment; the
training key and the session secret are written once (at first start: GRADER_TRAINING_KEY / GRADER_WEB_SECRET if
given, else the API machine's own training key, so its `grader grade --seed` agrees, and a random secret), and
replaced later only by setting those variables on the API side. Workers only read them (`adopt`).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from pathlib import Path

from grader import trajectory
from service.settings import ServiceSettings
from service.store import Store

_ONCE = ("training_key", "web_secret")


def publish(store: Store, settings: ServiceSettings) -> ServiceSettings:
    """The API side: write this machine's settings as everyone's, and return them as they now stand."""
    grader = settings.grader
    values = {"max_notebook_bytes": str(grader.max_notebook_bytes), "mnist_dir": str(grader.mnist_dir or ""),
              "submissions_per_minute": str(settings.submissions_per_minute),
              "requeue_after": repr(settings.requeue_after), "max_attempts": str(settings.max_attempts),
              "max_active_per_student": str(settings.max_active_per_student)}
    given = {"training_key": str(grader.training_key) if grader.training_key is not None else None,
             "web_secret": settings.web_secret}
    values.update({k: v for k, v in given.items() if v is not None})
    once = {"training_key": str(trajectory.training_key(grader)), "web_secret": secrets.token_urlsafe(32)}
    return _applied(settings, store.write_shared_settings(values, once))


def adopt(store: Store, settings: ServiceSettings) -> ServiceSettings:
    """A worker: these settings with every shared one replaced by the database's; SystemExit if the API side has
    not written them yet."""
    stored = store.shared_settings()
    missing = [name for name in ("max_attempts", *_ONCE) if name not in stored]
    if missing:
        raise SystemExit(f"the database has no shared configuration ({', '.join(missing)}): start the API side "
                         "(`grader serve`) or run `grader migrate` there first")
    return _applied(settings, stored)


def _applied(settings: ServiceSettings, stored: dict[str, str]) -> ServiceSettings:
    grader = replace(settings.grader, training_key=int(stored["training_key"]),
                     max_notebook_bytes=int(stored["max_notebook_bytes"]),
                     mnist_dir=Path(stored["mnist_dir"]) if stored["mnist_dir"] else None)
    return replace(settings, grader=grader, web_secret=stored["web_secret"],
                   submissions_per_minute=int(stored["submissions_per_minute"]),
                   requeue_after=float(stored["requeue_after"]), max_attempts=int(stored["max_attempts"]),
                   max_active_per_student=int(stored["max_active_per_student"]))
