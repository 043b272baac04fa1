"""`grader worker [--concurrency N]`: how a machine joins the grading pool (registered as a grader command)."""

from __future__ import annotations

import argparse
import os

NEEDS = ("grader worker: set GRADER_BROKER_URL (redis://:password@host:6379/0) and GRADER_DATABASE_URL "
         "(postgresql://user:password@host/db) to the service's broker and database")


def register(subparsers: argparse._SubParsersAction) -> None:
    worker = subparsers.add_parser("worker", help="grade queued submissions (a Celery worker)",
                                   description="Needs GRADER_BROKER_URL and GRADER_DATABASE_URL (see README).")
    worker.add_argument("--concurrency", "-c", type=int, default=os.cpu_count() or 1,
                        help="submissions graded side by side (default: the number of cores)")
    worker.add_argument("--probe", action="store_true",
                        help="run the sandboxed self-check once and exit 0 if this machine grades correctly")
    worker.add_argument("--started-by-serve", action="store_true", help=argparse.SUPPRESS)  # may use its SQLite
    worker.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise SystemExit("grader worker: --concurrency must be at least 1")
    from service.bootstrap import PRIVATE_UMASK
    from service.settings import ServiceSettings, SettingsError

    os.umask(PRIVATE_UMASK)   # what the worker writes to the data directory is its user's alone
    try:
        ServiceSettings.from_env()
    except SettingsError as err:
        raise SystemExit(f"grader worker: {err}") from None
    database = os.environ.get("GRADER_DATABASE_URL", "")
    if not os.environ.get("GRADER_BROKER_URL") or not database:
        raise SystemExit(NEEDS)
    if database.startswith("sqlite") and not args.started_by_serve:
        raise SystemExit("grader worker: GRADER_DATABASE_URL is an SQLite file, which only the `grader serve` on "
                         "this machine may share with its own worker; another machine needs the service's PostgreSQL")
    from workers.app import probe, start_worker

    return probe() if args.probe else start_worker(args.concurrency)
