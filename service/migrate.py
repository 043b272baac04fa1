"""`grader migrate`: the API side's start without serving: the schema brought to the newest revision, the
assignments folder registered with its versions, the shared configuration written. Workers never do this."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    migrate = subparsers.add_parser("migrate", help="migrate the database, register the assignments, write the "
                                    "shared configuration (the API side; `grader serve` does it at start)")
    migrate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from service import bootstrap
    from service.settings import ServiceSettings

    store, settings = bootstrap.open_shared(ServiceSettings.from_env())
    registered = ", ".join(f"{a.name} ({a.version})" for a in store.assignments())
    print(f"database {settings.database_url.split('@')[-1]} migrated; assignments: {registered or 'none'}")
    return 0
