"""Grading one notebook over many seeds at once, to measure whether its verdicts depend on the seed.

The notebook is loaded once; a unit's probes for a batch of seeds run together in one unit run
(`unit#k`, probes named `probe@seed`), and the outcomes are then judged seed by seed exactly as
a normal grade judges them (without diagnoses: they change no verdict). A probe with fixed inputs
(training) runs once: its inputs do not depend on the seed. Each seed is charged an equal share of
its unit run's cost. Used by the seed-independence test and benchmarks/seed_verdicts.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader import pipeline, probing, trajectory
from grader.config import Settings
from grader.execution import Execution, RunResult, UnitRun
from grader.extraction import Program, extract
from grader.intake import read_bytes
from grader.reports import UnitReport
from grader.sandbox import Limits
from grader.spec import Assignment

Execute = Callable[[Program, Callable[[dict[int, dict]], list[UnitRun]], Limits, dict[str, Path]], Execution]


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


def over_seeds(blob: bytes, assignment: Assignment, settings: Settings, seeds: list[int], execute: Execute,
               chunk: int = 100, expected: dict | None = None) -> SeedVerdicts:
    """Verdicts per seed; `expected` keeps the reference's outcomes for the next notebook."""
    notebook = read_bytes(blob, settings.max_notebook_bytes)
    program = extract(notebook.code_cells, assignment.mode)
    fixed_seed = trajectory.training_key(settings)

    def plan(statement_errors: dict[int, dict]) -> list[UnitRun]:
        defs = probing.definitions(program, statement_errors)
        runs = []
        for run in probing.plan(assignment, defs, seeds[0], fixed_seed):
            unit = assignment.units[run.unit]
            fixed = tuple(p for p in run.probes if unit.probes[p.name].params.get("fixed_inputs"))
            varying = [name for name in unit.probes if not unit.probes[name].params.get("fixed_inputs")]
            for k in range(0, len(seeds), chunk):
                group = seeds[k:k + chunk]
                probes = tuple(replace(probing.request(unit, name, defs, assignment, seed, fixed_seed),
                                       name=f"{name}@{seed}") for seed in group for name in varying)
                runs.append(UnitRun(f"{run.unit}#{k}", run.variant, run.timeout * len(group),
                                    (fixed if k == 0 else ()) + probes, run.substitutes))
        return [r for r in runs if r.probes]

    execution = execute(program, plan, replace(assignment.limits, wall_seconds=10**6),
                        pipeline.files(assignment, settings))
    expected = {} if expected is None else expected
    by_seed = _by_seed(execution)
    result = SeedVerdicts()
    for seed in seeds:
        one_seed = replace(execution, runs=by_seed.get(seed, {}))
        units, _ = pipeline.judge(assignment, settings, notebook, program, one_seed, seed, "en", expected,
                                  diagnose=False)  # a diagnosis never changes a verdict
        result.add(seed, units)
    return result


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
