"""Diagnosis: name the recurring mistake behind a failed check, as a hint (dynamic, then static evidence).

Runs on the trusted side after scoring; it never changes a score. Correct
code never gets a diagnosis because only failed checks are diagnosed, and
a mutant is named only when it reproduces the student's output exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader import catalogue
from grader.diagnoses import training
from grader.diagnoses.dynamic import MutantRunner, ratio_or_shape
from grader.diagnoses.static import Finding, Source, findings
from grader.expected import Expected
from grader.extraction import Program
from grader.feedback import render
from grader.probing import Probing
from grader.scoring import ScoredCheck
from grader.types import Assignment, RunResult, UnitSpec

UNDIAGNOSED = {"stub", "needs_failed", "not_defined", "lost", "submission_timeout"}


@dataclass(frozen=True)
class Diagnosis:
    id: str
    facts: dict

    def render(self, lang: str) -> dict[str, str]:
        """{"id", "message"} in the report's language; a static finding also says where it is."""
        facts = dict(self.facts)
        if "direction" in facts:
            facts["direction"] = catalogue.text("diagnoses", f"direction_{facts['direction']}", lang)
        message = catalogue.text("diagnoses", self.id, lang) % facts
        if "cell" in facts:
            message += render("where", facts, lang)
        return {"id": self.id, "message": message}


class Diagnoser:
    """One submission's diagnoses, unit by unit; mutant runs are cached across units."""

    def __init__(self, assignment: Assignment, program: Program, names: dict, imported: dict[str, str],
                 expected: Expected) -> None:
        self.assignment, self.names, self.imported = assignment, names, imported
        self.runner = MutantRunner(assignment, expected)
        self.named: set[str] = set()   # training is described only where no mistake was named before it
        aliases = {n for s in program.statements if s.kind == "import"
                   for n, module in s.imports.items() if module == "numpy"}
        self.numpy = aliases or {"np"}

    def unit(self, unit: UnitSpec, checks: tuple[ScoredCheck, ...], runs: dict[str, RunResult | None],
             asked: Probing, expected: Expected) -> dict[tuple[str, str], Diagnosis]:
        """Dynamic evidence per failed check first (mutants run on the probes as `asked`, against the
        reference's `expected` outcomes); the unit's static findings go to the rest."""
        specs = {c.name: c for c in unit.checks}
        failed = {v: [(specs[c.name], run.probes[specs[c.name].probe]) for c in checks
                      if c.variant == v and not c.passed and c.verdict.code not in UNDIAGNOSED]
                  for v, run in runs.items() if run is not None}
        passed = {v: tuple(specs[c.name] for c in checks if c.variant == v and c.passed) for v in failed}
        explained = {v: self.runner.explain(unit, v, pairs, asked, passed[v]) for v, pairs in failed.items()}
        found: dict[tuple[str, str], Diagnosis] = {}
        open_checks: list[ScoredCheck] = []
        by_exception: dict[tuple[str, str], Diagnosis] = {}
        for c in checks:
            if c.passed or c.verdict.code in UNDIAGNOSED - {"not_defined"}:
                continue
            if (imported := self._imported(c.verdict.facts, c.verdict.code)) is not None:
                found[(c.name, c.variant)] = Diagnosis("imported_not_defined", {"module": imported})
            elif c.variant in failed and c.verdict.code != "not_defined":
                spec, got = specs[c.name], runs[c.variant].probes[specs[c.name].probe]
                mutant = explained[c.variant].get(c.name)
                if spec.kind == "heldout_accuracy" and not self.named and (trained := training.diagnose(got)):
                    found[(c.name, c.variant)] = Diagnosis(*trained)
                elif mutant is not None and mutant[2]:
                    found[(c.name, c.variant)] = Diagnosis(mutant[0], mutant[1])
                elif (seen := ratio_or_shape(spec, got, expected.outcome(asked, unit.name, spec.probe))
                      if spec.kind == "close" else None) is not None:
                    found[(c.name, c.variant)] = Diagnosis(*seen)
                else:
                    open_checks.append(c)
                    if mutant is not None:
                        by_exception[(c.name, c.variant)] = Diagnosis(mutant[0], mutant[1])
        # a finding in the source says more than a mutant that only raises the same exception
        static = [f for f in (self.static(unit) if open_checks else []) if f.id not in
                  {d.id for d in found.values()} and _fits(f, [c.verdict.code for c in open_checks])]
        used: list[str] = []
        for c in open_checks:
            key = (c.name, c.variant)
            fitting = [f for f in static if _fits(f, [c.verdict.code])]
            if fitting:
                finding = _pick(fitting, c.verdict.facts.get("frames") or [], used)
                used.append(finding.id)
                found[key] = Diagnosis(finding.id, finding.facts)
            elif key in by_exception:
                found[key] = by_exception[key]
        self.named.update(d.id for d in found.values())
        return found

    def static(self, unit: UnitSpec) -> list[Finding]:
        """Findings in the source of the definitions this unit grades (a `Class.method` names its class)."""
        wanted = [n.partition(".")[0] for n in (*unit.defines, *unit.defines_any, *unit.requires)]
        wanted += [alt for n in wanted for alt in self.assignment.aliases.get(n, ())]
        statements = {id(s): s for n in wanted if (s := self.names.get(n)) is not None}
        sources = [Source(s.filename, s.line, s.source) for s in sorted(statements.values(), key=lambda s: s.id)]
        return findings(sources, self.numpy)

    def _imported(self, facts: dict, code: str) -> str | None:
        """The module a missing definition was imported from (it failed in the sandbox), if any."""
        if code == "not_defined":
            return next((w["module"] for w in facts.get("why", []) if w.get("code") == "why_imported"), None)
        if code == "raised" and facts.get("type") == "NameError":
            name = str(facts.get("message", "")).split("'")[1:2]
            return self.imported.get(name[0]) if name else None
        return None


TIMEOUTS = {"unit_timeout", "statement_timeout"}
ONLY_FOR_TIMEOUTS = {"loop_never_advances"}


def _fits(finding: Finding, codes: list[str]) -> bool:
    """A finding that explains a hang (a loop that never ends) is named for a check that timed out,
    and a timeout gets no other finding: it says nothing about values."""
    timeouts = [c in TIMEOUTS for c in codes]
    return any(timeouts) if finding.id in ONLY_FOR_TIMEOUTS else not all(timeouts)


def _pick(static: list[Finding], frames: list, used: list[str]) -> Finding:
    """A finding not yet named, preferably on the line where the check's exception was raised; once
    all are named, the one on that line or the next in turn: every finding is named at least once
    when there are enough failed checks, the most relevant first."""
    raised_at = [tuple(f[:2]) for f in frames][-1:]
    at = [f for f in static if (f.facts["cell"], f.facts["line"]) in raised_at]
    fresh = [f for f in static if f.id not in used]
    return ([f for f in at if f in fresh] or fresh or at or [static[len(used) % len(static)]])[0]
