"""`grader lti`: register LMS platforms (and their deployments), list them with the tool's endpoints, link a
platform's course to an existing course, rotate the tool's key pair. The API side's command: it opens (and
migrates) the records as `grader migrate` does."""

from __future__ import annotations

import argparse
import json

FIELDS = ("issuer", "client_id", "deployment_id", "auth_url", "token_url", "jwks_url")


def register(subparsers: argparse._SubParsersAction) -> None:
    lti = subparsers.add_parser("lti", help="LTI 1.3: register platforms (Moodle, Canvas), list them, rotate keys")
    commands = lti.add_subparsers(dest="lti_command", required=True)
    add = commands.add_parser("add-platform", help="register a platform, or add a deployment to one registered")
    for name in FIELDS:
        add.add_argument("--" + name.replace("_", "-"), dest=name, required=True)
    add.set_defaults(run=add_platform)
    listing = commands.add_parser("list", help="the registered platforms and their deployments")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(run=list_platforms)
    link = commands.add_parser("link-course", help="link a platform's course (LTI context) to an existing course")
    for name in ("issuer", "client_id", "context_id", "course"):
        link.add_argument("--" + name.replace("_", "-"), dest=name, required=True)
    link.set_defaults(run=link_course)
    rotate = commands.add_parser("rotate-key", help="a new tool key pair (the previous public key stays published)")
    rotate.set_defaults(run=rotate_key)


def _settings():
    from service.settings import ServiceSettings

    return ServiceSettings.from_env()


def _store():
    from service import bootstrap

    return bootstrap.open_store(_settings())


def add_platform(args: argparse.Namespace) -> int:
    from service.lti.registration import PlatformForm, described

    try:
        form = PlatformForm(**{name: getattr(args, name) for name in FIELDS})
    except ValueError as exc:
        print(f"grader lti add-platform: {exc}")
        return 2
    platform = _store().add_platform(**form.model_dump())
    print(f"registered {platform.issuer} (client id {platform.client_id}); deployments: "
          f"{', '.join(described(platform)['deployments'])}")
    return 0


def list_platforms(args: argparse.Namespace) -> int:
    from service.lti.registration import described

    platforms = [described(p) for p in _store().platforms()]
    if args.json:
        print(json.dumps({"platforms": platforms}, indent=2))
        return 0
    if not platforms:
        print("no platform registered (grader lti add-platform)")
    for p in platforms:
        print(f"{p['issuer']}  client id {p['client_id']}  deployments {', '.join(p['deployments'])}\n"
              f"    auth {p['auth_url']}\n    token {p['token_url']}\n    jwks {p['jwks_url']}")
    return 0


def link_course(args: argparse.Namespace) -> int:
    from service.lti.registration import ContextLink, link_context
    from service.store import CourseError

    try:
        linked = link_context(_store(), ContextLink(**{n: getattr(args, n) for n in ContextLink.model_fields}))
    except (LookupError, CourseError) as exc:
        print(f"grader lti link-course: {exc}")
        return 2
    print(f"launches from {linked.issuer} for context {linked.context_id} open course {linked.course}")
    return 0


def rotate_key(args: argparse.Namespace) -> int:
    from service.lti import keys

    store = _store()
    keys.ensure(store, _settings().data_dir)
    print(f"new tool key {keys.rotate(store)}, on every machine; the previous one stays published at /lti/jwks "
          f"for {keys.GRACE.days} days")
    return 0
