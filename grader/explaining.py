"""Explaining: the facts a student needs beside a verdict, and the messages they make.

The call that was made (with input shapes), the student's own line that raised, why a name is
missing (a failed import, a syntax error, a statement that failed), and the notes on what did not
load. Pure: it reads the notebook, the program, what was asked and what the sandbox returned.
"""

from __future__ import annotations

import re

import numpy as np

from grader import feedback
from grader.checks import Verdict
from grader.extraction import Program
from grader.intake import Notebook
from grader.probing import Probing
from grader.scoring import ScoredCheck
from grader.types import Execution, UnitSpec

_NAME_ERROR = re.compile(r"name '(\w+)' is not defined")
_VALUE_CODES = {"mismatch", "mismatch_scalar", "not_finite", "wrong_shape"}  # wrong values, not errors


class Explainer:
    """Words the verdicts of one submission."""

    def __init__(self, notebook: Notebook, program: Program, asked: Probing, execution: Execution) -> None:
        self.program, self.asked, self.execution = program, asked, execution
        self.defs = asked.defs
        self.lines = {c.label: c.source.splitlines() for c in notebook.code_cells}

    def message(self, unit: UnitSpec, check: ScoredCheck, lang: str, own_fault: Verdict | None = None) -> str:
        """The check's feedback; `own_fault`: the same check's failure with the reference's
        dependencies, which puts the mistake in the unit's own code (how it calls them), not in them."""
        spec = next(c for c in unit.checks if c.name == check.name)
        probe = unit.probes[spec.probe]
        request = self.asked.request(unit.name, probe.name)
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

    def where(self, unit: UnitSpec, check: ScoredCheck) -> dict | None:
        """Where a failed check points in the notebook: the raising line, else the unit's definition."""
        if check.passed:
            return None
        where = self._raised_at(check)
        if where is None:
            aliases = self.asked.assignment.aliases
            names = (self.defs.resolve(n.partition(".")[0], aliases) for n in (*unit.defines, *unit.defines_any))
            stmt = next((self.defs.names[n] for n in names if n in self.defs.names), None)
            where = self._line(stmt.filename, stmt.line) if stmt is not None else None
        return where

    def not_defined(self, names: list[str]) -> dict:
        """The facts of a `not_defined` verdict: the names, and why each is missing."""
        return {"names": ", ".join(f"`{n}`" for n in names), "why": [w for n in names for w in self._why(n)]}

    def _raised_at(self, check: ScoredCheck, frames: list | None = None) -> dict | None:
        """The student's own line where the check's exception was raised, if it was (`frames`: of
        the same failure with correct dependencies); a backward run before forward is blamed on
        its caller, and a stop of the harness's own (a slow step) on no line."""
        frames = check.verdict.facts.get("frames") if frames is None else frames
        own_frames = [f for f in frames or [] if f[0] in self.lines]
        if check.verdict.code != "raised" or not own_frames or "stop" in check.verdict.facts:
            return None
        callers = own_frames[:-1] if frames[-1][0] in self.lines else own_frames
        if _before_forward(check.verdict.facts, frames) and callers:
            return self._line(callers[-1][0], callers[-1][1])
        return self._line(own_frames[-1][0], own_frames[-1][1])

    def _line(self, cell: str, line: int) -> dict:
        lines = self.lines.get(cell, [])
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        return {"cell": cell, "line": line, "text": text[:120]}

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


def same_failure(own: Verdict, substituted: Verdict) -> bool:
    """Both variants fail alike: wrong values in both, or an exception in both."""
    kinds = [("raised" if v.code == "raised" else "value" if v.code in _VALUE_CODES else None)
             for v in (own, substituted)]
    return not own.passed and not substituted.passed and kinds[0] is not None and kinds[0] == kinds[1]


def _before_forward(facts: dict, frames: list) -> bool:
    """A `backward` that failed on None: it ran on a layer object whose `forward` never ran."""
    return bool(frames) and frames[-1][2] == "backward" and "NoneType" in str(facts.get("message", ""))


def measured(facts: dict) -> dict | None:
    """The figure a check judged and its bound, for plots: a gradient check's error, an accuracy."""
    if "rel_error" in facts:
        return {"param": facts.get("param"), "error": facts["rel_error"], "threshold": facts.get("threshold")}
    if "accuracy" in facts:
        return {"accuracy": facts["accuracy"], "threshold": facts.get("threshold")}
    return None


def notes(program: Program, execution: Execution, lang: str) -> tuple[str, ...]:
    """What loaded with a note (set-up code that ran), failed to load, or was skipped, per cell."""
    said = []
    for stmt in program.statements:
        error = execution.statement_errors.get(stmt.id)
        if error is None:
            if stmt.kind == "setup":
                said.append(feedback.render("ran_setup", {"cell": stmt.filename, "line": stmt.line,
                                                          "detail": stmt.source.splitlines()[0][:80]}, lang))
            continue
        code = error.get("code", "statement_error")
        line = error.get("frames", [[None, stmt.line]])[-1][1] if error.get("frames") else stmt.line
        said.append(feedback.render(code, {**error, "cell": stmt.filename, "line": line}, lang))
    for skipped in program.skipped:
        said.append(feedback.render(f"skipped_{skipped.reason}", {"cell": skipped.cell.label, "line": skipped.line,
                                                                  "detail": skipped.detail}, lang))
    return tuple(said)


def output(execution: Execution, lang: str) -> str:
    """What the student's code printed, cut to 4,000 characters, saying what was left out."""
    text = execution.output[:4000]
    if execution.output_dropped or len(execution.output) > 4000:
        text += "\n" + feedback.render("output_truncated", {}, lang)
    if execution.output_withheld:
        text += "\n" + feedback.render("output_withheld", {}, lang)
    return text
