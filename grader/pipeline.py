"""The grading pipeline for one submission: notebook -> program -> sandbox -> checks -> report."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

import numpy as np

from grader import curves, data, feedback, languages, probing, scoring, trajectory
from grader.checks import CHECK_KINDS, NEEDS_REFERENCE, CheckContext, Verdict
from grader.config import Settings
from grader.diagnoses import Diagnoser
from grader.execution import Execution, ProbeOutcome, ProbeRequest, UnitRun, execute
from grader.extraction import Program, extract
from grader.inputs import FileInput
from grader.intake import IntakeError, Notebook, read_bytes
from grader.reports import CheckReport, SubmissionReport, UnitReport
from grader.spec import Assignment, UnitSpec

_NAME_ERROR = re.compile(r"name '(\w+)' is not defined")
# raised by the harness wherever the student's code was
_HARNESS_STOPS = {"NotBackpropagation", "TrainingTooSlow", "GradientTooSlow"}
_VALUE_CODES = {"mismatch", "mismatch_scalar", "not_finite", "wrong_shape"}  # wrong values, not errors


def new_seed() -> int:
    return secrets.randbelow(2**31)


def grade_file(path: Path, assignment: Assignment, settings: Settings, seed: int | None = None,
               lang: str = "auto") -> SubmissionReport:
    with open(path, "rb") as fh:
        blob = fh.read(settings.max_notebook_bytes + 1)
        size = os.fstat(fh.fileno()).st_size
    return grade_bytes(blob, str(path), assignment, settings, seed, lang, size=max(size, len(blob)))


def grade_bytes(blob: bytes, submission: str, assignment: Assignment, settings: Settings,
                seed: int | None = None, lang: str = "auto", size: int | None = None) -> SubmissionReport:
    """Grade one notebook. `lang` is `auto` (the notebook's own language) or a language tag;
    `size` is the file's real size when `blob` was cut short at the limit."""
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

    fixed_seed = trajectory.training_key(settings)

    def plan(statement_errors: dict[int, dict]) -> list[UnitRun]:
        return probing.plan(assignment, probing.definitions(program, statement_errors), seed, fixed_seed)

    try:
        execution = execute(program, plan, assignment.limits, files(assignment, settings),
                            unsafe=settings.unsafe_no_sandbox)
    except RuntimeError as exc:
        return error_report(submission, assignment, seed, language,
                             feedback.render("sandbox_failed", {"detail": str(exc)}, language))
    timings.update({"sandbox_start_and_load": execution.timings.get("load", 0.0)})
    timings.update({f"unit:{k}": v.seconds for k, v in execution.runs.items()})
    checked = time.monotonic()
    units, diagnosis_seconds = judge(assignment, settings, notebook, program, execution, seed, language)
    training = curves.training(assignment, execution)
    timings["checks"] = time.monotonic() - checked
    timings["diagnosis"] = diagnosis_seconds
    timings["total"] = time.monotonic() - started
    return SubmissionReport(
        submission=submission, assignment=assignment.name, seed=seed,
        score=round(sum(u.score for u in units.values()), 6), max_score=round(assignment.max_score, 6),
        language=language, units=units, notes=_notes(program, execution, language),
        notes_by_language={other: _notes(program, execution, other) for other in languages.LANGUAGES},
        output=_output(execution, language), sandbox="none (unsafe)" if settings.unsafe_no_sandbox else "bubblewrap",
        timings=timings, training=training)


def files(assignment: Assignment, settings: Settings) -> dict[str, Path]:
    """Data files the sandbox needs, mounted read-only: the training split only, never the test split."""
    wanted = {g.get("gen") for u in assignment.units.values() for p in u.probes.values() for g in p.inputs.values()}
    if "mnist_train" not in wanted:
        return {}
    paths = data.train_files(settings)
    return {FileInput("mnist_train", "x").name: paths["x_train"], FileInput("mnist_train", "t").name: paths["t_train"]}


def judge(assignment: Assignment, settings: Settings, notebook: Notebook, program: Program, execution: Execution,
          seed: int, lang: str, expected: dict | None = None,
          diagnose: bool = True) -> tuple[dict[str, UnitReport], float]:
    """Every unit's report from what the sandbox returned for the probes drawn from `seed`, and the
    seconds spent on diagnoses; `expected` may carry the reference's outcomes over from other notebooks.
    Without `diagnose` no failure is explained (scores and messages are the same)."""
    defs = probing.definitions(program, execution.statement_errors)
    judge = _Judge(assignment, settings, notebook, program, defs, execution, seed, expected, diagnose)
    units = {name: judge.unit_report(unit, lang) for name, unit in assignment.units.items()}
    return units, judge.diagnosis_seconds


class _Judge:
    """Judges one submission's sandbox outcomes against the reference, check by check."""

    def __init__(self, assignment: Assignment, settings: Settings, notebook: Notebook, program: Program,
                 defs: probing.Definitions, execution: Execution, seed: int, expected: dict | None = None,
                 diagnose: bool = True) -> None:
        self.assignment, self.program, self.defs, self.execution = assignment, program, defs, execution
        self.seed, self.settings = seed, settings
        self.fixed_seed = trajectory.training_key(settings)
        self.requests: dict[tuple[str, str], ProbeRequest] = {}
        self.lines = {c.label: c.source.splitlines() for c in notebook.code_cells}
        self.ctx = CheckContext(heldout=lambda: data.test_split(settings), reference=assignment.reference_namespace)
        self.expected: dict[tuple[int, str, str], ProbeOutcome] = {} if expected is None else expected
        self.diagnoser = Diagnoser(assignment, program, defs.names, defs.imported)
        self.diagnosis_seconds = 0.0   # part of the checks' time
        self.diagnose = diagnose

    def unit_report(self, unit: UnitSpec, lang: str) -> UnitReport:
        lost = probing.missing(unit, self.defs, self.assignment.aliases)
        verdicts = {}
        for variant in scoring.variants(unit):
            run = self.execution.runs.get(f"{unit.name}:{variant}")
            for check in unit.checks:
                if lost:
                    verdict = Verdict(False, "not_defined", self._not_defined(lost))
                elif run is None:
                    verdict = Verdict(False, "lost", {"reason": "not_run"})
                else:
                    verdict = self._judge(unit, check, run.probes[check.probe])
                verdicts[(check.name, variant)] = verdict
        scored = scoring.score_unit(unit, verdicts)
        own_fault = {c.name: verdicts[(c.name, "reference_deps")] for c in unit.checks
                     if len(scoring.variants(unit)) > 1 and _same_failure(verdicts[(c.name, "own")],
                                                                         verdicts[(c.name, "reference_deps")])}
        runs = {v: self.execution.runs.get(f"{unit.name}:{v}") for v in scoring.variants(unit)}
        started = time.monotonic()
        found = self.diagnoser.unit(unit, scored.checks, runs, lambda p: self.request(unit, p),
                                    lambda p: self._expected(unit, p)) if self.diagnose else {}
        self.diagnosis_seconds += time.monotonic() - started
        checks = tuple(CheckReport(c.name, c.variant, c.passed, c.score, c.max_score,
                                   self._message(unit, c, lang, own_fault.get(c.name)),
                                   d.render(lang) if (d := found.get((c.name, c.variant))) else None,
                                   measured=_measured(c.verdict.facts), where=self._where(unit, c),
                                   messages={other: self._message(unit, c, other, own_fault.get(c.name))
                                             for other in languages.LANGUAGES})
                       for c in scored.checks)
        return UnitReport(scored.score, scored.max_score, checks)

    def _judge(self, unit: UnitSpec, check, outcome: ProbeOutcome) -> Verdict:
        probe = unit.probes[check.probe]
        expected = self._expected(unit, probe.name) if check.kind in NEEDS_REFERENCE else None
        return CHECK_KINDS[check.kind](check, probe, outcome, expected, self.ctx)

    def _expected(self, unit: UnitSpec, probe: str) -> ProbeOutcome:
        """The reference's outcome of a probe, computed once (a training run once per assignment)."""
        key = (self.seed, unit.name, probe)
        if key not in self.expected:
            request = self.request(unit, probe)
            if any(isinstance(v, FileInput) for v in request.inputs.values()):
                self.expected[key] = trajectory.reference_outcome(
                    request, self.assignment, files(self.assignment, self.settings), self.settings.cache_dir)
            else:
                self.expected[key] = probing.reference_outcome(request, self.assignment)
        return self.expected[key]

    def request(self, unit: UnitSpec, probe: str) -> ProbeRequest:
        """The probe exactly as the sandbox got it (inputs are a pure function of the seed)."""
        key = (unit.name, probe)
        if key not in self.requests:
            self.requests[key] = probing.request(unit, probe, self.defs, self.assignment, self.seed, self.fixed_seed)
        return self.requests[key]

    def _message(self, unit: UnitSpec, check: scoring.ScoredCheck, lang: str, own_fault: Verdict | None = None) -> str:
        """The check's feedback; `own_fault`: the same check's failure with the reference's
        dependencies, which puts the mistake in the unit's own code (how it calls them), not in them."""
        spec = next(c for c in unit.checks if c.name == check.name)
        probe = unit.probes[spec.probe]
        request = self.request(unit, probe.name)
        shapes = {k: (tuple(v.shape) if isinstance(v, np.ndarray) else None) for k, v in request.inputs.items()}
        facts = {"output": spec.output, **check.verdict.facts,
                 "call": feedback.describe_call(probe.kind, request.params, shapes, lang)}
        facts["output"] = feedback.output_label(facts["output"], probe.kind, lang)
        if check.variant != "own":
            facts["variant_names"] = ", ".join(unit.substitute)
        frames = check.verdict.facts.get("frames")
        if check.variant == "own" and own_fault is not None:
            facts.update(cause="cause_in_unit_itself", unit=unit.name, names=", ".join(unit.substitute))
            frames = own_fault.facts.get("frames") or frames  # where it fails with correct dependencies
        where = self._raised_at(check, frames)
        if where is not None:
            facts["where"] = where
            if _before_forward(facts, frames):  # blamed on the call, not the layer
                facts["cause"] = "cause_backward_before_forward"
            name = _NAME_ERROR.search(str(facts.get("message", "")))
            if facts.get("type") == "NameError" and name:
                why = self._why(name.group(1))
                if why:
                    facts["hint"] = {"names": f"`{name.group(1)}`", "why": why[0]}
        return feedback.check_message(check.verdict.code, facts, lang)

    def _raised_at(self, check: scoring.ScoredCheck, frames: list | None = None) -> dict | None:
        """The student's own line where the check's exception was raised, if it was (`frames`: of
        the same failure with correct dependencies); a backward run before forward is blamed on
        its caller, and a stop of the harness's own (a slow step) on no line."""
        frames = check.verdict.facts.get("frames") if frames is None else frames
        own_frames = [f for f in frames or [] if f[0] in self.lines]
        if check.verdict.code != "raised" or not own_frames or check.verdict.facts.get("type") in _HARNESS_STOPS:
            return None
        callers = own_frames[:-1] if frames[-1][0] in self.lines else own_frames
        if _before_forward(check.verdict.facts, frames) and callers:
            return self._line(callers[-1][0], callers[-1][1])
        return self._line(own_frames[-1][0], own_frames[-1][1])

    def _where(self, unit: UnitSpec, check: scoring.ScoredCheck) -> dict | None:
        """Where a failed check points in the notebook: the raising line, else the unit's definition."""
        if check.passed:
            return None
        where = self._raised_at(check)
        if where is None:
            names = (self.defs.resolve(n.partition(".")[0], self.assignment.aliases)
                     for n in (*unit.defines, *unit.defines_any))
            stmt = next((self.defs.names[n] for n in names if n in self.defs.names), None)
            where = self._line(stmt.filename, stmt.line) if stmt is not None else None
        return where

    def _line(self, cell: str, line: int) -> dict:
        lines = self.lines.get(cell, [])
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        return {"cell": cell, "line": line, "text": text[:120]}

    def _not_defined(self, names: list[str]) -> dict:
        return {"names": ", ".join(f"`{n}`" for n in names), "why": [w for n in names for w in self._why(n)]}

    def _why(self, name: str) -> list[dict]:
        """Why a name is missing, as far as the program tells: an import, a syntax error, a failure."""
        if name in self.defs.imported:
            return [{"code": "why_imported", "module": self.defs.imported[name]}]
        if name in self.defs.skipped:
            skipped = self.defs.skipped[name]
            code = "why_unparsed" if skipped.reason == "syntax_error" else "why_not_run"
            return [{"code": code, "cell": skipped.cell.label, "line": skipped.line, "detail": skipped.detail}]
        for stmt_id, error in self.execution.statement_errors.items():
            stmt = self.program.statements[stmt_id]
            if name in stmt.defines:
                detail = f"{error.get('type', error.get('code'))}: {error.get('message', '')}".strip(": ")
                return [{"code": "why_failed", "cell": stmt.filename, "detail": detail[:200]}]
        if self.defs.star_imports:
            return [{"code": "why_star", "module": self.defs.star_imports[0]}]
        return []


def _same_failure(own: Verdict, substituted: Verdict) -> bool:
    """Both variants fail alike: wrong values in both, or an exception in both."""
    kinds = [("raised" if v.code == "raised" else "value" if v.code in _VALUE_CODES else None)
             for v in (own, substituted)]
    return not own.passed and not substituted.passed and kinds[0] is not None and kinds[0] == kinds[1]


def _before_forward(facts: dict, frames: list) -> bool:
    """A `backward` that failed on None: it ran on a layer object whose `forward` never ran."""
    return bool(frames) and frames[-1][2] == "backward" and "NoneType" in str(facts.get("message", ""))


def _measured(facts: dict) -> dict | None:
    """The figure a check judged and its bound, for plots: a gradient check's error, an accuracy."""
    if "rel_error" in facts:
        return {"param": facts.get("param"), "error": facts["rel_error"], "threshold": facts.get("threshold")}
    if "accuracy" in facts:
        return {"accuracy": facts["accuracy"], "threshold": facts.get("threshold")}
    return None


def _notes(program: Program, execution: Execution, lang: str) -> tuple[str, ...]:
    notes = []
    for stmt in program.statements:
        error = execution.statement_errors.get(stmt.id)
        if error is None:
            if stmt.kind == "setup":
                notes.append(feedback.render("ran_setup", {"cell": stmt.filename, "line": stmt.line,
                                                           "detail": stmt.source.splitlines()[0][:80]}, lang))
            continue
        code = error.get("code", "statement_error")
        line = error.get("frames", [[None, stmt.line]])[-1][1] if error.get("frames") else stmt.line
        notes.append(feedback.render(code, {**error, "cell": stmt.filename, "line": line}, lang))
    for skipped in program.skipped:
        notes.append(feedback.render(f"skipped_{skipped.reason}", {"cell": skipped.cell.label, "line": skipped.line,
                                                                   "detail": skipped.detail}, lang))
    return tuple(notes)


def _output(execution: Execution, lang: str) -> str:
    text = execution.output[:4000]
    if execution.output_dropped or len(execution.output) > 4000:
        text += "\n" + feedback.render("output_truncated", {}, lang)
    if execution.output_withheld:
        text += "\n" + feedback.render("output_withheld", {}, lang)
    return text


def error_report(submission: str, assignment: Assignment, seed: int, lang: str, message: str) -> SubmissionReport:
    units = {name: UnitReport(0.0, unit.max_score, ()) for name, unit in assignment.units.items()}
    return SubmissionReport(submission=submission, assignment=assignment.name, score=0.0,
                            max_score=assignment.max_score, seed=seed, language=lang, error=message, units=units)
