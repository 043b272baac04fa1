"""The Celery app of the grading workers: configured once from the environment, warm before it forks."""

from __future__ import annotations

import logging
import os
import socket
import threading

from celery import signals

from grader import data
from service import assignments, bootstrap
from service.db import make_engine
from service.queue import QUEUE, celery_app
from service.settings import ServiceSettings
from service.store import Store

log = logging.getLogger(__name__)

settings = ServiceSettings.from_env()
_specs = assignments.specs(settings.assignments_dir)
app = celery_app(settings, wall_seconds=max((a.limits.wall_seconds for a in _specs.values()), default=120.0))
app.conf.imports = ("workers.tasks",)

HEARTBEAT_SECONDS = 10.0
_process: dict[str, object] = {}


def warm_up() -> None:
    """Load once what every task needs: numpy, the specs, each reference namespace, the MNIST splits."""
    for assignment in _specs.values():
        assignment.reference_namespace  # noqa: B018 - imports the reference module and builds the namespace
    data.train_files(settings.grader)
    data.test_split(settings.grader)


def process_name() -> str:
    """host:pid of this process: what a submission records as its worker."""
    return f"{socket.gethostname()}:{os.getpid()}"


def store() -> Store:
    """This process's store (each forked pool process opens its own connections)."""
    if "store" not in _process:
        _process["store"] = Store(make_engine(settings.database_url))
    return _process["store"]  # type: ignore[return-value]


@signals.worker_process_init.connect
def _fresh_connections(**_) -> None:
    _process.pop("store", None)


@signals.worker_ready.connect
def _start_heartbeat(sender, **_) -> None:
    stop = threading.Event()
    name, concurrency = process_name(), sender.controller.concurrency if sender.controller else 1
    main_store = Store(make_engine(settings.database_url))

    def beat() -> None:
        while True:
            try:
                main_store.heartbeat(name, concurrency)
            except Exception:  # noqa: BLE001 - a missed beat only makes the worker look idle for a while
                log.warning("heartbeat failed", exc_info=True)
            if stop.wait(HEARTBEAT_SECONDS):
                break
        main_store.forget_worker(name)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    _process.update(heartbeat_stop=stop, heartbeat_thread=thread)
    thread.start()


@signals.worker_shutdown.connect
def _stop_heartbeat(**_) -> None:
    if "heartbeat_stop" in _process:
        _process["heartbeat_stop"].set()  # type: ignore[attr-defined]
        _process["heartbeat_thread"].join(timeout=5)  # type: ignore[attr-defined]


def start_worker(concurrency: int) -> int:
    """Migrate, warm up, then run the Celery worker in this process (prefork pool of `concurrency`)."""
    bootstrap.open_store(settings)
    warm_up()
    app.worker_main(["worker", "--concurrency", str(concurrency), "--queues", QUEUE, "--loglevel", "INFO",
                     "--hostname", f"grader-{os.getpid()}@{socket.gethostname()}", "--pool", "prefork",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"])
    return 0
