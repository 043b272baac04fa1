"""Reports: the public result of grading one submission, and its JSON/CSV/table forms.

The JSON form is a public interface (documented in README.md): keep its
keys stable and only ever add new ones; it holds every text exactly. The
table is for terminals, so every text in it that a student could have
written (file names, messages, errors) has its control characters shown
escaped; CSV cells that a spreadsheet would run as a formula are quoted.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from grader import causes


@dataclass(frozen=True)
class CheckReport:
    name: str
    variant: str
    passed: bool
    score: float
    max_score: float
    message: str
    diagnosis: dict[str, str] | None = None   # {"id", "message"}: the mistake recognised behind a failure
    measured: dict[str, Any] | None = None   # the figure a check judged (gradient error, accuracy) and its bound
    where: dict[str, Any] | None = None      # a failed check's place in the notebook: cell, line, text
    messages: dict[str, str] | None = None   # the message in every language of the catalogue

    def to_dict(self) -> dict[str, Any]:
        name = self.name if self.variant == "own" else f"{self.name}/with_reference_deps"
        out = {"name": name, "passed": self.passed, "score": self.score, "max_score": self.max_score,
               "message": self.message, "variant": self.variant}
        if self.diagnosis is not None:
            out["diagnosis"] = dict(self.diagnosis)
        if self.measured is not None:
            out["measured"] = self.measured
        if self.where is not None:
            out["where"] = self.where
        if self.messages is not None:
            out["messages"] = self.messages
        return out


@dataclass(frozen=True)
class UnitReport:
    score: float
    max_score: float
    checks: tuple[CheckReport, ...]


@dataclass(frozen=True)
class SubmissionReport:
    submission: str
    assignment: str
    score: float
    max_score: float
    seed: int
    language: str
    error: str | None = None
    units: dict[str, UnitReport] = field(default_factory=dict)
    notes: tuple[str, ...] = ()           # what was skipped or failed while loading, per cell
    output: str = ""                      # what the student's code printed (truncated)
    sandbox: str = "bubblewrap"
    timings: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] | None = None   # training curves: the student's run beside the reference's
    notes_by_language: dict[str, tuple[str, ...]] = field(default_factory=dict)   # `notes` in every language
    grader_fault: bool = False            # the grader's own failure (its sandbox), not the notebook's: no score

    def to_dict(self) -> dict[str, Any]:
        return {
            "submission": self.submission, "assignment": self.assignment,
            "score": self.score, "max_score": self.max_score, "seed": self.seed, "error": self.error,
            "language": self.language, "sandbox": self.sandbox,
            "units": {name: {"score": u.score, "max_score": u.max_score,
                             "checks": [c.to_dict() for c in u.checks]} for name, u in self.units.items()},
            "notes": list(self.notes), "output": self.output,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "training": self.training,
            "notes_by_language": {lang: list(notes) for lang, notes in self.notes_by_language.items()},
        }


# C0 and C1 controls, DEL, and the bidirectional overrides and isolates that reorder what a terminal shows
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA = tuple("=+-@\t\r")


def visible(text: str) -> str:
    """`text` safe to print on a terminal: each control character as its Python escape."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def has_control(text: str) -> bool:
    """True when `text` holds a character `visible` would escape (a control or a text-direction mark)."""
    return _CONTROL.search(text) is not None


def csv_cell(value: object) -> str:
    """A CSV cell no spreadsheet evaluates: a leading =, +, -, @, tab or CR gets a quote before it.
    Every CSV the CLI and the service write passes each of its text cells through here."""
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA) else text


def _fmt(x: float) -> str:
    return f"{x:g}"


def to_csv(reports: list[SubmissionReport], unit_names: list[str]) -> str:
    """One row per submission, one column per unit (its score)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for line in [["submission", "score", "max_score", "seed", "error", *unit_names],
                 *([r.submission, _fmt(r.score), _fmt(r.max_score), r.seed, r.error or "",
                    *(_fmt(r.units[u].score) if u in r.units else "" for u in unit_names)] for r in reports)]:
        writer.writerow([csv_cell(cell) for cell in line])
    return buf.getvalue()


def to_table(reports: list[SubmissionReport], unit_names: list[str], details: bool = True) -> str:
    """A fixed-width score table, then the failed checks of each submission (plain text)."""
    headers, rows = score_rows(reports, unit_names)
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip()
             for row in [headers, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*warnings(reports), *lines, *(failure_lines(reports) if details else [])])


def score_rows(reports: list[SubmissionReport], unit_names: list[str]) -> tuple[list[str], list[list[str]]]:
    """The score table's header and rows: one per submission (its file name, escaped), then the maxima."""
    headers = ["submission", *unit_names, "total"]
    rows = []
    for r in reports:
        cells = [r.units[u].score if u in r.units else None for u in unit_names]
        rows.append([_short(r.submission), *("-" if c is None else _fmt(c) for c in cells),
                     "error" if r.error else f"{_fmt(r.score)}/{_fmt(r.max_score)}"])
    maxima = next((r for r in reports if r.units), None)
    if maxima is not None:
        rows.append(["(max)", *(_fmt(maxima.units[u].max_score) for u in unit_names), _fmt(maxima.max_score)])
    return headers, rows


def warnings(reports: list[SubmissionReport]) -> list[str]:
    """The line above the table when any submission was graded without a sandbox."""
    unsandboxed = [r for r in reports if r.sandbox != "bubblewrap"]
    if not unsandboxed:
        return []
    return [f"WARNING: {len(unsandboxed)} submission(s) graded without a sandbox ({unsandboxed[0].sandbox})"]


def failure_lines(reports: list[SubmissionReport]) -> list[str]:
    """Below the table: each submission's error and its failed checks by cause, student texts escaped."""
    lines = []
    for r in reports:
        failed = {u: [c for c in unit.checks if not c.passed] for u, unit in r.units.items()}
        if r.error or any(failed.values()):
            lines += ["", f"{_short(r.submission)}:"]
        if r.error:
            lines.append(f"  error: {visible(r.error)}")
        for unit, checks in failed.items():
            lines += _first_failures(unit, checks, r.language)
    return lines


def _first_failures(unit: str, checks: list[CheckReport], lang: str) -> list[str]:
    """Each cause once (grader/causes.py: the checks it failed named together, its message), and below it
    the diagnoses not yet said for this unit (the JSON has every check)."""
    lines, said = [], set()
    for cause in causes.group([c.to_dict() for c in checks], lang):
        lines.append(f"  {unit}.{visible(causes.label(cause, lang))}: {visible(cause.message)}")
        for diagnosis in cause.diagnoses:
            if diagnosis["id"] not in said:
                said.add(diagnosis["id"])
                lines.append(f"    hint: {visible(diagnosis['message'])}")  # may quote the student's code
    return lines


def _short(path: str) -> str:
    return visible(path.rsplit("/", 1)[-1])
