"""`grader serve`: the whole service (a private redis, the worker, the API), each child supervised and
restarted if it dies; Ctrl-C stops all of it."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:       # the service is imported only when `serve` runs (the CLI starts fast)
    from service.lifecycle import Publisher
    from service.store import Store

log = logging.getLogger("grader.serve")


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the grading service (API, workers, a private Redis)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", type=Path,
                       help="records and the private Redis (default $GRADER_DATA_DIR or ./var)")
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                       help="worker processes grading side by side (default: the number of cores; 0: none)")
    serve.add_argument("--no-demo", action="store_true", help="do not load the demo course on first start")
    serve.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from service import bootstrap, demo
    from service.processes import (
        Processes,
        Supervisor,
        api_argv,
        free_port,
        redacted,
        redis_argv,
        redis_url,
        wait_for_redis,
        worker_argv,
    )
    from service.queue import CeleryPublisher, celery_app
    from service.settings import ServiceSettings, SettingsError, allowed_hosts

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)
    os.umask(bootstrap.PRIVATE_UMASK)            # the records, the broker's files: this user's alone
    try:
        settings = ServiceSettings.from_env()
    except SettingsError as err:
        raise SystemExit(f"grader serve: {err}") from None
    if args.data_dir:
        settings = settings.with_data_dir(args.data_dir)
    if not os.environ.get("GRADER_ALLOWED_HOSTS"):
        settings = replace(settings, allowed_hosts=allowed_hosts(None, args.host))
    processes = Processes()
    try:
        store, settings = bootstrap.open_shared(settings)
        instructor = bootstrap.ensure_instructor(store, settings)
        supervisor = Supervisor(processes, restarted=lambda name: _resend(store, publisher, name))
        if not settings.broker_url:
            redis_dir, port = settings.data_dir / "redis", free_port()
            argv = redis_argv(redis_dir, port)
            url = redis_url(redis_dir, port)
            supervisor.start("redis-server", argv, ready=lambda: wait_for_redis(url))
            settings = replace(settings, broker_url=url)
        env = {**os.environ, **settings.environ()}
        if args.workers > 0:
            supervisor.start("worker", worker_argv(args.workers), env)
        publisher = CeleryPublisher(celery_app(settings))
        students = demo.load(store, publisher, settings) if not args.no_demo and demo.wanted(store) else []
        supervisor.start("api", api_argv(args.host, args.port), env)
        _welcome(args, settings, instructor, students, redacted(settings.broker_url))
        supervisor.watch(threading.Event())
    except KeyboardInterrupt:
        pass
    finally:
        processes.stop()
    return 0


def _resend(store: Store, publisher: Publisher, restarted: str) -> None:
    """After the broker or a worker came back: what they held is published again (claim grades it once)."""
    if restarted != "api":
        from service import lifecycle

        resent = lifecycle.resend_waiting(store, publisher)
        if resent:
            log.warning("re-published %d submission(s) waiting since %s went down", len(resent), restarted)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _welcome(args, settings, instructor: str | None, students, broker: str) -> None:
    """What an operator needs to start; tokens go to this terminal only (shown once, kept by no log file)."""
    url = f"http://{args.host}:{args.port}"
    lines = [f"nn-grader is starting at {url}  (API schema: {url}/openapi.json)",
             f"answering the host names: {', '.join(settings.allowed_hosts)} (GRADER_ALLOWED_HOSTS)",
             f"data: {settings.data_dir}   database: {settings.database_url.split('@')[-1]}",
             f"broker: {broker}   workers: {args.workers}",
             f"instructor token (shown once, keep it): {instructor}" if instructor else
             "instructor token: the one printed at first start (or GRADER_INSTRUCTOR_TOKEN)"]
    if students:
        lines.append("demo students (tokens shown once; their example notebooks are being graded):")
        lines += [f"  {s.id:12} token: {s.token}" for s in students if s.token]
        lines.append(f'try: curl -H "Authorization: Bearer <token>" {url}/api/submissions')
    lines.append("Ctrl-C stops everything.")
    print("\n".join(lines), flush=True)
