"""`grader serve`: the whole service in one process group (redis, workers, API); Ctrl-C stops all of it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path


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
    import uvicorn

    from grader.config import SettingsError
    from service import bootstrap, demo
    from service.app import create_app
    from service.processes import Processes, start_redis, start_worker
    from service.queue import CeleryPublisher, celery_app
    from service.settings import ServiceSettings, allowed_hosts

    signal.signal(signal.SIGTERM, _interrupt)   # uvicorn takes over while it runs, and re-raises after
    try:
        settings = ServiceSettings.from_env()
    except SettingsError as exc:       # a malformed GRADER_* variable: say which, start nothing
        print(f"grader serve: {exc}", file=sys.stderr)
        return 2
    if args.data_dir:
        settings = settings.with_data_dir(args.data_dir)
    if not os.environ.get("GRADER_ALLOWED_HOSTS"):
        settings = replace(settings, allowed_hosts=allowed_hosts(None, args.host))
    processes = Processes()
    try:
        store = bootstrap.open_store(settings)
        instructor = bootstrap.ensure_instructor(store, settings)
        if not settings.broker_url:
            settings = replace(settings, broker_url=start_redis(processes, settings.data_dir / "redis"))
        if args.workers > 0:
            start_worker(processes, args.workers, {**os.environ, **settings.environ()})
        publisher = CeleryPublisher(celery_app(settings))
        students = demo.load(store, publisher, settings) if not args.no_demo and demo.wanted(store) else []
        app = create_app(settings, publisher)
        _welcome(args, settings, instructor, students)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    except KeyboardInterrupt:
        pass
    finally:
        processes.stop()
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _welcome(args, settings, instructor: str | None, students) -> None:
    url = f"http://{args.host}:{args.port}"
    lines = [f"nn-grader is starting at {url}  (API schema: {url}/openapi.json)",
             f"answering the host names: {', '.join(settings.allowed_hosts)} (GRADER_ALLOWED_HOSTS)",
             f"data: {settings.data_dir}   database: {settings.database_url.split('@')[-1]}",
             f"broker: {settings.broker_url}   workers: {args.workers}",
             f"instructor token: {instructor}" if instructor else
             "instructor token: the one printed at first start (or GRADER_INSTRUCTOR_TOKEN)"]
    if students:
        lines.append("demo students (their example notebooks are being graded):")
        lines += [f"  {s.id:12} token: {s.token}" for s in students if s.token]
        lines.append(f'try: curl -H "Authorization: Bearer <token>" {url}/api/submissions')
    lines.append("Ctrl-C stops everything.")
    print("\n".join(lines), flush=True)
