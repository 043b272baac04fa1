"""The grading pipeline for one submission: notebook -> program -> sandbox -> checks -> report."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from threadpoolctl import threadpool_limits

from grader import curves, data, explaining, feedback, languages, scoring, trajectory
from grader.checks import CHECK_KINDS, NEEDS_REFERENCE, CheckContext, Verdict
from grader.config import Settings
from grader.diagnoses import Diagnoser, Diagnosis
from grader.expected import Expected
from grader.explaining import Explainer
from grader.extraction import Program, extract
from grader.intake import IntakeError, Notebook, read_bytes
from grader.probing import Plan, Probing
from grader.reports import CheckReport, SubmissionReport, UnitReport
from grader.sandbox import execute
from grader.types import Assignment, CheckSpec, Execution, ProbeOutcome, RunResult, UnitSpec


def new_seed() -> int:
    return secrets.randbelow(2**31)


def grade_file(path: Path, assignment: Assignment, settings: Settings, seed: int | None = None,
               lang: str = "auto", diagnose: bool = True) -> SubmissionReport:
    with open(path, "rb") as fh:
        blob = fh.read(settings.max_notebook_bytes + 1)
        size = os.fstat(fh.fileno()).st_size
    return grade_bytes(blob, str(path), assignment, settings, seed, lang, size=max(size, len(blob)), diagnose=diagnose)


@threadpool_limits.wrap(limits=1, user_api="blas")
def grade_bytes(blob: bytes, submission: str, assignment: Assignment, settings: Settings,
                seed: int | None = None, lang: str = "auto", size: int | None = None,
                diagnose: bool = True) -> SubmissionReport:
    """Grade one notebook. `lang` is `auto` (the notebook's own language) or a language tag;
    `size` is the file's real size when `blob` was cut short at the limit; without `diagnose`
    no failure is explained (the CLI's fast batch mode; scores and messages are the same).
    The trusted side computes with one BLAS thread, as the sandbox does: grading runs notebooks side by
    side (`--jobs`, workers), the matrices are small, and two BLAS threads per process on two cores
    spin against each other (ten examples at `--jobs 2`: 9.5 s with them, 4.8 s without)."""
    seed = new_seed() if seed is None else seed
    started = time.monotonic()
    chosen = languages.normalise(lang)
    try:
        notebook = read_bytes(blob, settings.max_notebook_bytes, size)
    except IntakeError as err:
        language = chosen or languages.detect(blob[:100_000].decode(errors="ignore"))
        return error_report(submission, assignment, seed, language, feedback.render(err.code, err.params, language))
    language = chosen or notebook.language
    program = extract(notebook.code_cells, assignment.mode)
    timings = {"intake": time.monotonic() - started}
    expected = Expected(assignment, settings)
    plan = Plan(assignment, program, seed, trajectory.training_key(settings),
                substitute_if=own_run_failed(assignment, settings, expected))
    try:
        execution = execute(program, plan, assignment.limits, data.sandbox_files(assignment, settings), settings)
    except RuntimeError as exc:
        return replace(error_report(submission, assignment, seed, language,
                                    feedback.render("sandbox_failed", {"detail": str(exc)}, language)),
                       grader_fault=True)
    timings.update({"sandbox_start_and_load": execution.timings.get("load", 0.0)})
    timings.update({f"unit:{k}": v.seconds for k, v in execution.runs.items()})
    checked = time.monotonic()
    asked = plan.probing(execution.statement_errors)
    units, diagnosis_seconds = judge(assignment, settings, notebook, program, asked, execution, language, expected,
                                     diagnose=diagnose)
    training = curves.training(assignment, execution, expected, asked)   # the reference's run the checks used
    timings["checks"] = time.monotonic() - checked
    timings["diagnosis"] = diagnosis_seconds
    timings["total"] = time.monotonic() - started
    return SubmissionReport(
        submission=submission, assignment=assignment.name, seed=seed,
        score=round(sum(u.score for u in units.values()), 6), max_score=round(assignment.max_score, 6),
        language=language, units=units, notes=explaining.notes(program, execution, language),
        notes_by_language={other: explaining.notes(program, execution, other) for other in languages.LANGUAGES},
        output=explaining.output(execution, language),
        sandbox="none (unsafe)" if settings.unsafe_no_sandbox else "bubblewrap", timings=timings, training=training)


def own_run_failed(assignment: Assignment, settings: Settings,
                   expected: Expected) -> Callable[[UnitSpec, Probing, RunResult | None], bool]:
    """Plan.substitute_if for a grade: a unit runs again with the reference's dependencies only where its own
    run failed a check (or never came back), the one case where that variant can change its score or feedback
    (grader.scoring: a check passed with the student's own definitions counts as passed in both)."""
    ctx = _context(assignment, settings)

    def failed(unit: UnitSpec, asked: Probing, run: RunResult | None) -> bool:
        return run is None or not all(check_verdict(unit, c, run.probes[c.probe], asked, expected, ctx).passed
                                      for c in unit.checks)
    return failed


def check_verdict(unit: UnitSpec, check: CheckSpec, outcome: ProbeOutcome, asked: Probing, expected: Expected,
                  ctx: CheckContext) -> Verdict:
    """One check's verdict on one probe's outcome, against the reference's outcome where its kind needs one."""
    probe = unit.probes[check.probe]
    reference = expected.outcome(asked, unit.name, probe.name) if check.kind in NEEDS_REFERENCE else None
    return CHECK_KINDS[check.kind](check, probe, outcome, reference, ctx)


def _context(assignment: Assignment, settings: Settings) -> CheckContext:
    return CheckContext(heldout=lambda: data.test_split(settings), reference=assignment.reference_namespace)


def judge(assignment: Assignment, settings: Settings, notebook: Notebook, program: Program, asked: Probing,
          execution: Execution, lang: str, expected: Expected | None = None,
          diagnose: bool = True) -> tuple[dict[str, UnitReport], float]:
    """Every unit's report from what the sandbox returned for the probes `asked`, and the seconds
    spent on diagnoses; `expected` may carry the reference's outcomes over from other notebooks.
    Without `diagnose` no failure is explained (scores and messages are the same)."""
    judge = _Judge(assignment, settings, notebook, program, asked, execution, expected, diagnose)
    units = {name: judge.unit_report(unit, lang) for name, unit in assignment.units.items()}
    return units, judge.diagnosis_seconds


class _Judge:
    """Judges one submission's sandbox outcomes against the reference, check by check."""

    def __init__(self, assignment: Assignment, settings: Settings, notebook: Notebook, program: Program,
                 asked: Probing, execution: Execution, expected: Expected | None, diagnose: bool) -> None:
        self.assignment, self.asked, self.execution = assignment, asked, execution
        self.ctx = _context(assignment, settings)
        self.expected = Expected(assignment, settings) if expected is None else expected
        self.explainer = Explainer(notebook, program, asked, execution)
        self.diagnoser = (Diagnoser(assignment, program, asked.defs.names, asked.defs.imported, self.expected)
                          if diagnose else None)
        self.diagnosis_seconds = 0.0   # part of the checks' time

    def unit_report(self, unit: UnitSpec, lang: str) -> UnitReport:
        lost = self.asked.missing(unit)
        variants = scoring.variants(unit)
        runs = {v: self.execution.runs.get(f"{unit.name}:{v}") for v in variants}
        verdicts = {}
        for variant in variants:
            for check in unit.checks:
                if lost:
                    verdict = Verdict(False, "not_defined", self.explainer.not_defined(lost))
                elif runs[variant] is None:   # a reference_deps run is made only after its own run failed a check;
                    # where the own check passed, scoring counts that verdict for both variants
                    verdict = Verdict(False, "lost", {"reason": "not_run"})
                else:
                    verdict = check_verdict(unit, check, runs[variant].probes[check.probe], self.asked, self.expected,
                                            self.ctx)
                verdicts[(check.name, variant)] = verdict
        scored = scoring.score_unit(unit, verdicts)
        own_fault = {c.name: verdicts[(c.name, "reference_deps")] for c in unit.checks
                     if len(variants) > 1 and explaining.same_failure(verdicts[(c.name, "own")],
                                                                      verdicts[(c.name, "reference_deps")])}
        started = time.monotonic()
        found = self.diagnoser.unit(unit, scored.checks, runs, self.asked, self.expected) if self.diagnoser else {}
        self.diagnosis_seconds += time.monotonic() - started
        checks = tuple(self._check_report(unit, c, lang, own_fault.get(c.name), found.get((c.name, c.variant)))
                       for c in scored.checks)
        return UnitReport(scored.score, scored.max_score, checks)

    def _check_report(self, unit: UnitSpec, c: scoring.ScoredCheck, lang: str, own_fault: Verdict | None,
                      diagnosis: Diagnosis | None) -> CheckReport:
        """A check's report: its message in every language, the report's own among them (worded once)."""
        messages = {other: self.explainer.message(unit, c, other, own_fault) for other in languages.LANGUAGES}
        message = messages[lang] if lang in messages else self.explainer.message(unit, c, lang, own_fault)
        return CheckReport(c.name, c.variant, c.passed, c.score, c.max_score, message,
                           diagnosis.render(lang) if diagnosis else None,
                           measured=explaining.measured(c.verdict.facts), where=self.explainer.where(unit, c),
                           messages=messages)


def error_report(submission: str, assignment: Assignment, seed: int, lang: str, message: str) -> SubmissionReport:
    units = {name: UnitReport(0.0, unit.max_score, ()) for name, unit in assignment.units.items()}
    return SubmissionReport(submission=submission, assignment=assignment.name, score=0.0,
                            max_score=assignment.max_score, seed=seed, language=lang, error=message, units=units)
