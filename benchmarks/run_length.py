"""How long the accuracy unit's training must run: the measurement its spec's comment records (issue 23).

Usage: python benchmarks/run_length.py [--keys 20] [--mutant-keys 3] [--lengths 100,150,200,300,400,600]
                                     [--notebook-keys 0] [--first-key 0] [FOLDER ...]

The unit trains the student's network with the grader's own SGD loop from the grader's start over the
grader's batches (drawn from the training key), and asks two things of the result: its parameters lie on
the reference network's trajectory (relative distance per parameter <= `trajectory_rtol`), and its held-out
accuracy reaches `threshold`. Fewer steps cost less, so the shortest run is wanted at which
  (c) the reference itself, trained as the probe trains it, reaches the threshold with a margin on every key:
      printed per length, its held-out accuracy (min / median / max over `--keys` training keys);
  (b) every catalogued faulty backprop (reference/mutants.py: each mutant that replaces `TwoLayerNet`)
      leaves the trajectory: printed per length, each mutant's worst relative distance (min over keys) and
      whether it is past the tolerance. A mutant whose distance is 0 does not change training (its mistake
      is in a form training never uses, e.g. index labels) and is caught by its own unit's checks.
  (a) every correct variant stays on the trajectory: with `--notebook-keys K`, every bundled example (and
      each FOLDER's) whose expected `accuracy` verdict is full is loaded once in the real sandbox and trained
      there at the spec's run length under K training keys (from `--first-key`, to split a long run), each
      run judged by the unit's own check; printed: how many keys it passed on, its accuracy range and its
      worst distance from the reference's trajectory.
Every reference and mutant run goes through the harness's own probe (`grader.inside.network.train`) in this
trusted process, on the first L of the probe's batches. CPU-bound: run it with OPENBLAS_NUM_THREADS=1 on a quiet
machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from parts import REPO

from grader import data, probing, spec
from grader.checks import CHECK_KINDS, CheckContext
from grader.config import Settings
from grader.expected import Expected
from grader.extraction import extract
from grader.intake import read_bytes
from grader.probing import Plan
from grader.sandbox import execute
from grader.types import ProbeOutcome, ProbeRequest, RunResult, UnitRun
from reference.mutants import MUTANTS

UNIT, PROBE, CHECK = "accuracy", "mnist", "test_accuracy"
PARAMS = ("W1", "b1", "W2", "b2")


def trained(request: ProbeRequest, namespace: dict, files: dict, steps: int) -> dict[str, np.ndarray]:
    """The parameters after the probe's first `steps` batches (the harness's loop on `namespace`)."""
    inputs = data.load_inputs(request.inputs, files)
    inputs["batches"] = np.asarray(inputs["batches"])[:steps]
    outcome = probing.trusted_outcome(replace(request, inputs=inputs), namespace)
    return {k: np.asarray(outcome.values[f"param_{k}"], dtype=float) for k in PARAMS
            if f"param_{k}" in outcome.values}


def accuracy(params: dict[str, np.ndarray], net_class: type, sizes: list[int], heldout: tuple) -> float:
    net = net_class(*sizes)
    for key, value in params.items():
        net.params[key][...] = value
    with np.errstate(all="ignore"):
        return float(net.accuracy(*heldout))


def distance(got: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> float:
    """The check's own measure: the worst parameter's relative distance (inf when training failed)."""
    if set(got) != set(ref):
        return float("inf")
    with np.errstate(all="ignore"):
        d = [float(np.linalg.norm(got[k] - ref[k]) / max(np.linalg.norm(ref[k]), 1e-12)) for k in PARAMS]
    return max(np.nan_to_num(d, nan=np.inf))


def correct_on_accuracy(folders: list[Path]) -> list[Path]:
    """The examples whose expected verdict for the accuracy unit is full (their expected.json says)."""
    found = []
    for folder in folders:
        expected = json.loads((folder / "expected.json").read_text())
        found += [folder / name for name, e in sorted(expected.items()) if e["units"].get(UNIT) == "full"]
    return found


@dataclass(frozen=True)
class ManyKeys:
    """A plan (grader.sandbox.Plan) that asks only the accuracy unit's training probe, once per training
    key (`probe@key`), `chunk` keys to a unit run: one sandbox session trains a notebook under every key."""

    plan: Plan
    keys: range
    chunk: int = 20

    def follow_ups(self, statement_errors: dict[int, dict], runs: dict[str, RunResult]) -> list[UnitRun]:
        return []   # every run is asked for at once

    def runs(self, statement_errors: dict[int, dict]) -> list[UnitRun]:
        asked = self.plan.probing(statement_errors)
        unit = self.plan.assignment.units[UNIT]
        if asked.missing(unit):
            return []
        runs = []
        for k in range(0, len(self.keys), self.chunk):
            group = self.keys[k:k + self.chunk]
            probes = tuple(replace(asked.with_training_key(key).request(UNIT, PROBE), name=f"{PROBE}@{key}")
                           for key in group)
            runs.append(UnitRun(f"{UNIT}#{k}", "own", unit.time_limit * len(group), probes))
        return runs


def notebooks_on_trajectory(notebooks: list[Path], keys: range, assignment: spec.Assignment,
                            settings: Settings) -> None:
    """(a): each notebook's program loaded once in the real sandbox and trained there under every key (the
    harness's own probe), each outcome judged by the accuracy unit's own check against the reference's run
    under that key (computed here once per key, shared by the notebooks)."""
    print(f"\n(a) notebooks expected full on accuracy, trained in the sandbox under training keys "
          f"{keys.start}-{keys.stop - 1}, judged by the check")
    unit = assignment.units[UNIT]
    check = next(c for c in unit.checks if c.name == CHECK)
    files = data.sandbox_files(assignment, settings)
    ctx = CheckContext(heldout=lambda: data.test_split(settings), reference=assignment.reference_namespace)
    expected = Expected(assignment, settings)   # only its data reading: each key's run is computed here, uncached
    references: dict[int, ProbeOutcome] = {}
    for path in notebooks:
        program = extract(read_bytes(path.read_bytes(), settings.max_notebook_bytes).code_cells, assignment.mode)
        plan = ManyKeys(Plan(assignment, program, 1, keys.start), keys)
        execution = execute(program, plan, replace(assignment.limits, wall_seconds=10**6), files, settings)
        asked = plan.plan.probing(execution.statement_errors)
        accuracies, distances, failed = [], [], []
        for k in range(0, len(keys), plan.chunk):
            run = execution.runs.get(f"{UNIT}#{k}:own")
            for key in keys[k:k + plan.chunk]:
                if key not in references:
                    request = expected.with_data(asked.with_training_key(key).request(UNIT, PROBE))
                    references[key] = probing.reference_outcome(request, assignment)
                got = run.probes[f"{PROBE}@{key}"] if run else ProbeOutcome(failure={"code": "lost"})
                verdict = CHECK_KINDS[check.kind](check, unit.probes[PROBE], got, references[key], ctx)
                accuracies.append(float(verdict.facts.get("accuracy", float("nan"))))
                distances.append(float(verdict.facts.get("trajectory_distance", float("nan"))))
                if not verdict.passed:
                    failed.append(key)
        print(f"  {path.parent.parent.name}/{path.name}: {len(keys) - len(failed)}/{len(keys)} on the trajectory "
              f"and above the threshold (held-out accuracy {min(accuracies):.3f}-{max(accuracies):.3f}, "
              f"worst distance {max(distances):.3g})" + (f"; failed on keys {failed[:20]}" if failed else ""),
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--mutant-keys", type=int, default=3)
    parser.add_argument("--lengths", default="100,150,200,300,400,600")
    parser.add_argument("--notebook-keys", type=int, default=0)
    parser.add_argument("--first-key", type=int, default=0)
    parser.add_argument("folders", nargs="*", type=Path)
    args = parser.parse_args()
    lengths = [int(n) for n in args.lengths.split(",")]
    assignment, settings = spec.load("backprop"), Settings.from_env()
    unit = assignment.units[UNIT]
    sizes = unit.probes[PROBE].params["sizes"]
    check = next(c for c in unit.checks if c.name == CHECK)
    threshold, tolerance = float(check.options["threshold"]), float(check.options["trajectory_rtol"])
    files, heldout = data.sandbox_files(assignment, settings), data.test_split(settings)
    reference = assignment.reference_namespace
    requests = [probing.request(unit, PROBE, probing.Definitions({}), assignment, 0, fixed_seed=key)
                for key in range(args.keys)]

    print(f"(c) the reference's held-out accuracy by run length, {args.keys} training keys "
          f"(threshold {threshold}, {len(heldout[1])} held-out digits)")
    ref_params: dict[tuple[int, int], dict] = {}
    for steps in lengths:
        accs = []
        for key, request in enumerate(requests):
            ref_params[key, steps] = trained(request, reference, files, steps)
            accs.append(accuracy(ref_params[key, steps], reference["TwoLayerNet"], sizes, heldout))
        print(f"  {steps:4d} steps: min {min(accs):.4f}  median {statistics.median(accs):.4f}  max {max(accs):.4f}")

    faulty = [m for m in MUTANTS if "TwoLayerNet" in m.replaces]
    print(f"\n(b) faulty backprops: worst relative distance from the reference's trajectory, min over "
          f"{args.mutant_keys} keys (tolerance {tolerance:g}; '*' = caught by the trajectory)")
    print("  " + "mutant".ljust(36) + "".join(f"{n:>12d}" for n in lengths))
    for mutant in faulty:
        namespace = {**reference, **mutant.replaces}
        row = []
        for steps in lengths:
            d = min(distance(trained(requests[k], namespace, files, steps), ref_params[k, steps])
                    for k in range(min(args.mutant_keys, args.keys)))
            row.append(f"{d:11.3g}{'*' if not d <= tolerance else ' '}")
        print("  " + mutant.id.ljust(36) + "".join(row))
    if args.notebook_keys:
        folders = [REPO / "assignments" / "backprop" / "examples", *args.folders]
        keys = range(args.first_key, args.first_key + args.notebook_keys)
        notebooks_on_trajectory(correct_on_accuracy(folders), keys, assignment, settings)


if __name__ == "__main__":
    main()
