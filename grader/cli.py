"""The `grader` command: batch grading from the command line, no server needed."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path

from grader import feedback, pipeline, spec
from grader.config import Settings, SettingsError
from grader.languages import DEFAULT, LANGUAGES
from grader.reports import SubmissionReport, to_csv, to_table
from grader.sandbox import SandboxUnavailable, sandbox_problem
from grader.terminal import ProgressLine, show_table

COMMANDS = "grader.commands"  # entry-point group: `register(subparsers)` adds a subcommand that sets `run`


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader", description="Grade neural-network coursework notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("grade", help="grade notebooks (files or folders)")
    grade.add_argument("--assignment", required=True, help="assignment name (see `grader assignments`) or folder")
    grade.add_argument("--jobs", "-j", type=int, default=1, help="notebooks graded side by side (default 1)")
    grade.add_argument("--format", choices=["table", "json", "csv"], default="table")
    grade.add_argument("--out", type=Path, help="write the result here instead of stdout")
    grade.add_argument("--seed", type=int, help="input seed (a regrade with the report's seed reproduces it)")
    grade.add_argument("--lang", choices=["auto", *LANGUAGES], default="auto",
                       help="feedback language (auto: the language the notebook is written in)")
    grade.add_argument("--no-diagnose", action="store_true",
                       help="skip the hints that name a mistake (faster batch grading; scores are the same)")
    grade.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run student code without bubblewrap (trusted code only; reports say so)")
    grade.add_argument("paths", nargs="+", type=Path)
    sub.add_parser("assignments", help="list the assignments")
    for command in entry_points(group=COMMANDS):
        try:
            command.load()(sub)
        except ImportError as exc:  # a broken service install must not take `grader grade` down with it
            print(f"grader: command {command.name!r} unavailable: {exc}", file=sys.stderr)
    args = parser.parse_args(argv)
    if hasattr(args, "run"):
        return args.run(args)
    if args.command == "assignments":
        for name in spec.available():
            a = spec.load(name)
            print(f"{name}\t{len(a.units)} units, {a.max_score:g} points\t{a.title}")
        return 0
    return _grade(parser, args)


def _grade(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        assignment = spec.load(args.assignment)
    except spec.SpecError as exc:
        parser.error(str(exc))
    try:
        settings = Settings.from_env()  # read once; everything below is handed these
    except SettingsError as exc:
        parser.error(str(exc))
    if args.unsafe_no_sandbox:
        settings = replace(settings, unsafe_no_sandbox=True)
    if not settings.unsafe_no_sandbox and (problem := sandbox_problem(settings)):
        print(f"grader: refusing to grade: {problem}.\nInstall bubblewrap (`make install`), or pass "
              "--unsafe-no-sandbox / set GRADER_UNSAFE_NO_SANDBOX=1 to run student code unisolated.",
              file=sys.stderr)
        return 3
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(map(str, missing))}")
    paths = list(_notebooks(args.paths))
    if not paths:
        parser.error("no notebooks (.ipynb) found in the given paths")
    reports = _run_all(paths, assignment, settings, args)
    units = list(assignment.units)
    if args.format == "table" and not args.out:
        show_table(reports, units, sys.stdout)
        return 0
    if args.format == "json":
        text = json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2)
    elif args.format == "csv":
        text = to_csv(reports, units)
    else:
        text = to_table(reports, units)
    if args.out:
        args.out.write_text(text + ("\n" if not text.endswith("\n") else ""), encoding="utf-8")
    else:
        print(text)
    return 0


def _notebooks(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            yield path


def _grade_one(path: Path, assignment: spec.Assignment, settings: Settings, seed: int | None,
               lang: str, diagnose: bool = True) -> SubmissionReport:
    """One notebook; whatever goes wrong is that notebook's error, never the batch's."""
    try:
        return pipeline.grade_file(path, assignment, settings, seed, lang, diagnose)
    except SandboxUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - reported per notebook
        language = lang if lang in LANGUAGES else DEFAULT
        return pipeline.error_report(str(path), assignment, seed or 0, language,
                                     feedback.render("internal_error", {"detail": repr(exc)}, language))


def _run_all(paths: list[Path], assignment: spec.Assignment, settings: Settings,
             args: argparse.Namespace) -> list[SubmissionReport]:
    results: dict[Path, SubmissionReport] = {}
    progress = ProgressLine(len(paths))
    if args.jobs == 1 or len(paths) == 1:
        for path in paths:
            results[path] = _grade_one(path, assignment, settings, args.seed, args.lang, not args.no_diagnose)
            progress.step(path, results[path])
    else:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
            futures = {pool.submit(_grade_one, p, assignment, settings, args.seed, args.lang, not args.no_diagnose): p
                       for p in paths}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                progress.step(futures[future], results[futures[future]])
    progress.done()
    return [results[p] for p in paths]


if __name__ == "__main__":
    sys.exit(main())
