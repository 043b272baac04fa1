"""The Celery app of the grading workers: configured from the environment (where the database and broker are),
everything that must be equal on every machine read from the database, warm and checked before it consumes."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import threading
import time
import uuid

from celery import signals

from grader import data, selfcheck
from grader.sandbox import cgroups
from service import assignments, shared
from service.db import make_engine, unmigrated
from service.lifecycle import WorkerIdentity, this_machine
from service.queue import QUEUE, CeleryPublisher, celery_app
from service.settings import ServiceSettings
from service.store import HEARTBEAT_SECONDS, Store

log = logging.getLogger(__name__)

local = ServiceSettings.from_env()   # this machine's: the URLs, its folders; the shared rest comes from the database
_specs = assignments.specs(local.assignments_dir)
app = celery_app(local, wall_seconds=max((a.limits.wall_seconds for a in _specs.values()), default=120.0))
app.conf.imports = ("workers.tasks",)
publisher = CeleryPublisher(app)     # hands a task on, and the student's next submission its turn

WORKER_ID = uuid.uuid4().hex          # this worker's identity in the records: its heartbeat, the attempts it runs
PROBE_RETRY_SECONDS = 30.0
_process: dict[str, object] = {"settings": local}
# Why this worker stopped consuming mid-run (empty: it consumes). Shared memory, made before the pool forks, so
# a pool process that finds the sandbox broken tells the heartbeat thread of the main process.
_suspended = multiprocessing.Array(ctypes.c_char, 1024)


def settings() -> ServiceSettings:
    """The settings every task grades with: the shared ones once `start_worker` has read them."""
    return _process["settings"]  # type: ignore[return-value]


def identity() -> WorkerIdentity:
    """This process (a pool process when grading) of this worker."""
    return WorkerIdentity(WORKER_ID)


def store() -> Store:
    """This process's store (each forked pool process opens its own connections)."""
    if "store" not in _process:
        _process["store"] = Store(make_engine(local.database_url))
    return _process["store"]  # type: ignore[return-value]


def beat(target: Store, concurrency: int, state: str) -> None:
    """One heartbeat: alive, which assignments it serves, and `state` plus what it refuses."""
    serves, refused = assignments.served(target, local.assignments_dir)
    me = identity()
    target.heartbeat(WORKER_ID, concurrency, me.host, me.pid, this_machine(), serves,
                     "; ".join(s for s in (state, refused) if s))


def prepared(target: Store) -> ServiceSettings:
    """The shared settings, on a database the API side has migrated (SystemExit saying what to do otherwise)."""
    problem = unmigrated(target.engine)
    if problem:
        raise SystemExit(f"grader worker: {problem}")
    return shared.adopt(target, local)


def celery_name() -> str:
    """This worker's node name in the broker: where control commands for it alone are sent."""
    return f"grader-{WORKER_ID[:12]}@{identity().host}"


def sandbox_problem(current: ServiceSettings, target: Store | None = None) -> str | None:
    """One real sandboxed grading of each served assignment's solution (when it ships one) must score full."""
    for name in assignments.served(target or store(), current.assignments_dir)[0]:
        problem = selfcheck.problem(_specs[name], current.grader) if name in _specs else None
        if problem:
            return f"{name}: {problem}"
    return None


def warm_up(current: ServiceSettings) -> None:
    """Load once what every task needs: numpy, the specs, each reference namespace, the MNIST splits."""
    for assignment in _specs.values():
        assignment.reference_namespace  # noqa: B018 - imports the reference module and builds the namespace
    data.train_files(current.grader)
    data.test_split(current.grader)


def after_grader_fault() -> None:
    """A grading in this pool process failed for the grader's own reason. If the sandboxed self-check fails now
    too, the machine is broken, not that one run: the worker stops consuming (its other reserved tasks go back
    the same way) until the heartbeat thread finds the sandbox working again."""
    problem = sandbox_problem(settings())
    if problem and not _suspended.value:
        _suspended.value = problem.encode()[:1023]
        log.error("not taking tasks any more: %s", problem)
        app.control.cancel_consumer(QUEUE, destination=[celery_name()])


def _resumed(target: Store) -> bool:
    """Suspended, and the sandbox grades correctly again: consume again."""
    if sandbox_problem(settings(), target) is not None:
        return False
    _suspended.value = b""
    app.control.add_consumer(QUEUE, destination=[celery_name()])
    log.warning("the sandbox works again: taking tasks")
    return True


@signals.worker_process_init.connect
def _fresh_connections(**_) -> None:
    _process.pop("store", None)


@signals.worker_ready.connect
def _start_heartbeat(sender, **_) -> None:
    stop = threading.Event()
    concurrency = sender.controller.concurrency if sender.controller else 1
    main_store = Store(make_engine(local.database_url))

    def beating() -> None:
        delay, next_check = HEARTBEAT_SECONDS, 0.0
        while True:
            try:
                suspended = _suspended.value.decode(errors="replace")
                if not suspended:
                    delay, next_check = HEARTBEAT_SECONDS, time.monotonic() + HEARTBEAT_SECONDS
                elif time.monotonic() >= next_check:     # suspended: re-checked after 5, 10, 20, 30, 30 ... s
                    if _resumed(main_store):
                        suspended = ""
                    next_check, delay = time.monotonic() + delay, min(2 * delay, PROBE_RETRY_SECONDS)
                beat(main_store, 0 if suspended else concurrency, f"not taking tasks: {suspended}" if suspended
                     else "ready")
            except Exception:  # noqa: BLE001 - a missed beat only makes the worker look idle for a while
                log.warning("heartbeat failed", exc_info=True)
            if stop.wait(HEARTBEAT_SECONDS):
                break
        main_store.forget_worker(WORKER_ID)

    thread = threading.Thread(target=beating, name="heartbeat", daemon=True)
    _process.update(heartbeat_stop=stop, heartbeat_thread=thread)
    thread.start()


@signals.worker_shutdown.connect
def _stop_heartbeat(**_) -> None:
    if "heartbeat_stop" in _process:
        _process["heartbeat_stop"].set()  # type: ignore[attr-defined]
        _process["heartbeat_thread"].join(timeout=5)  # type: ignore[attr-defined]


def start_worker(concurrency: int) -> int:
    """Read the shared settings, wait until the sandbox grades correctly (saying why in the worker list
    meanwhile), warm up, then run the Celery worker in this process (prefork pool of `concurrency`)."""
    current = prepared(store())
    _process["settings"] = current
    if removed := cgroups.remove_orphans():
        log.warning("removed %d sandbox cgroups left by graders killed mid-grading", removed)
    while problem := sandbox_problem(current):
        log.error("not taking tasks: %s (trying again in %g s)", problem, PROBE_RETRY_SECONDS)
        retry_at = time.monotonic() + PROBE_RETRY_SECONDS
        while time.monotonic() < retry_at:     # alive meanwhile, in the worker list, saying why it takes nothing
            beat(store(), 0, f"not taking tasks: {problem}")
            time.sleep(HEARTBEAT_SECONDS)
    warm_up(current)      # only a machine that grades correctly spends the time
    _process.pop("store", None)   # the pool forks next: no connection shared with it
    app.worker_main(["worker", "--concurrency", str(concurrency), "--queues", QUEUE, "--loglevel", "INFO",
                     "--hostname", celery_name(), "--pool", "prefork",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"])
    return 0


def probe() -> int:
    """The healthcheck: the same sandboxed grading a start waits for; 0 if this machine grades correctly."""
    problem = sandbox_problem(prepared(store()))
    print(problem or "ok")
    return 1 if problem else 0
