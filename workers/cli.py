"""`grader worker [--concurrency N]`: how a machine joins the grading pool (registered as a grader command)."""

from __future__ import annotations

import argparse
import os


def register(subparsers: argparse._SubParsersAction) -> None:
    worker = subparsers.add_parser("worker", help="grade queued submissions (a Celery worker)",
                                   description="Needs GRADER_BROKER_URL and GRADER_DATABASE_URL (see README).")
    worker.add_argument("--concurrency", "-c", type=int, default=os.cpu_count() or 1,
                        help="submissions graded side by side (default: the number of cores)")
    worker.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise SystemExit("grader worker: --concurrency must be at least 1")
    from service.bootstrap import PRIVATE_UMASK
    from service.settings import ServiceSettings, SettingsError

    os.umask(PRIVATE_UMASK)   # what the worker writes to the data directory is its user's alone
    try:
        settings = ServiceSettings.from_env()
    except SettingsError as err:
        raise SystemExit(f"grader worker: {err}") from None
    if not settings.broker_url:
        raise SystemExit("grader worker: set GRADER_BROKER_URL (redis://host:6379/0) and GRADER_DATABASE_URL "
                         "(postgresql://user:password@host/db) to the service's broker and database")
    from workers.app import start_worker

    return start_worker(args.concurrency)
