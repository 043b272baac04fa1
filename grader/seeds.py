"""Grading one notebook over many seeds at once, to measure whether its verdicts depend on the seed.

The notebook is loaded once; a unit's probes for a batch of seeds run together in one unit run
(`unit#k`, probes named `probe@seed`), and the outcomes are then judged seed by seed exactly as
a normal grade judges them (without diagnoses: they change no verdict). A probe with fixed inputs
(training) runs once: its inputs do not depend on the seed. Each seed is charged an equal share of
its unit run's cost. Everything runs through the real harness, in one sandbox session per notebook.
Used by the seed-independence test and benchmarks/seed_verdicts.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from grader import data, pipeline, trajectory
from grader.config import Settings
from grader.expected import Expected
from grader.extraction import extract
from grader.intake import read_bytes
from grader.probing import Plan
from grader.reports import UnitReport
from grader.sandbox import execute
from grader.types import Assignment, Execution, ProbeOutcome, RunResult, UnitRun


@dataclass
class SeedVerdicts:
    """Per unit: how many seeds gave each verdict, and one message per verdict (from its first seed)."""

    counts: dict[str, Counter] = field(default_factory=dict)
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, seed: int, units: dict[str, UnitReport]) -> None:
        for name, unit in units.items():
            key = verdict(unit)
            self.counts.setdefault(name, Counter())[key] += 1
            failed = [f"seed {seed}: {c.name}[{c.variant}]: {c.message}" for c in unit.checks if not c.passed]
            self.examples.setdefault((name, key), failed[0] if failed else f"seed {seed}")

    def flaky(self) -> dict[str, Counter]:
        return {unit: counts for unit, counts in self.counts.items() if len(counts) > 1}


def verdict(unit: UnitReport) -> str:
    """full / partial / zero, with the failed checks: two seeds agree only if the same checks fail."""
    level = "full" if unit.score == unit.max_score else "zero" if unit.score == 0 else "partial"
    failed = sorted(f"{c.name}[{c.variant}]" for c in unit.checks if not c.passed)
    return level + (f" ({', '.join(failed)})" if failed else "")


def over_seeds(blob: bytes, assignment: Assignment, settings: Settings, seeds: list[int], chunk: int = 100,
               expected: dict[tuple[int, str, str], ProbeOutcome] | None = None) -> SeedVerdicts:
    """Verdicts per seed, from one sandbox session (as `settings` say); `expected` keeps the
    reference's outcomes for the next notebook."""
    notebook = read_bytes(blob, settings.max_notebook_bytes)
    program = extract(notebook.code_cells, assignment.mode)
    plan = ManySeeds(Plan(assignment, program, seeds[0], trajectory.training_key(settings)), seeds, chunk)
    execution = execute(program, plan, replace(assignment.limits, wall_seconds=10**6),
                        data.sandbox_files(assignment, settings), settings)
    asked = plan.plan.probing(execution.statement_errors)
    answers = Expected(assignment, settings, expected)
    by_seed = _by_seed(execution)
    result = SeedVerdicts()
    for seed in seeds:
        one_seed = replace(execution, runs=by_seed.get(seed, {}))
        units, _ = pipeline.judge(assignment, settings, notebook, program, asked.with_seed(seed), one_seed, "en",
                                  answers, diagnose=False)  # a diagnosis never changes a verdict
        result.add(seed, units)
    return result


@dataclass(frozen=True)
class ManySeeds:
    """A plan (grader.sandbox.Plan) for many seeds at once: each unit run of `plan` becomes one run
    per `chunk` seeds, holding every seed's probes (`probe@seed`); a `fixed_inputs` probe runs once."""

    plan: Plan
    seeds: list[int]
    chunk: int

    def follow_ups(self, statement_errors: dict[int, dict], runs: dict[str, RunResult]) -> list[UnitRun]:
        return []   # every run is asked for at once

    def runs(self, statement_errors: dict[int, dict]) -> list[UnitRun]:
        asked = self.plan.probing(statement_errors)
        by_seed = {seed: asked.with_seed(seed) for seed in self.seeds}
        runs = []
        for run in asked.runs():
            unit = self.plan.assignment.units[run.unit]
            fixed = tuple(p for p in run.probes if unit.probes[p.name].params.get("fixed_inputs"))
            varying = [name for name in unit.probes if not unit.probes[name].params.get("fixed_inputs")]
            for k in range(0, len(self.seeds), self.chunk):
                group = self.seeds[k:k + self.chunk]
                probes = tuple(replace(by_seed[seed].request(run.unit, name), name=f"{name}@{seed}")
                               for seed in group for name in varying)
                runs.append(UnitRun(f"{run.unit}#{k}", run.variant, run.timeout * len(group),
                                    (fixed if k == 0 else ()) + probes, run.substitutes))
        return [r for r in runs if r.probes]


def _by_seed(execution: Execution) -> dict[int, dict[str, RunResult]]:
    """Each seed's probe outcomes (and the fixed probes'), keyed as in a normal grade's execution."""
    fixed: dict[str, dict] = {}
    found: dict[int, dict[str, dict]] = {}
    for key, result in execution.runs.items():
        unit_chunk, _, variant = key.partition(":")
        run_key = f"{unit_chunk.split('#')[0]}:{variant}"
        shared_by = len({name.partition("@")[2] for name in result.probes} - {""}) or 1
        for name, outcome in result.probes.items():
            probe, _, drawn = name.partition("@")
            if outcome.cost is not None:
                outcome = replace(outcome, cost=replace(outcome.cost, seconds=outcome.cost.seconds / shared_by))
            target = fixed if not drawn else found.setdefault(int(drawn), {})
            target.setdefault(run_key, {})[probe] = outcome
    return {seed: {k: RunResult({**fixed.get(k, {}), **probes.get(k, {})}) for k in {*fixed, *probes}}
            for seed, probes in found.items()}
