"""What one notebook's grading costs on the trusted side: intake, checks, diagnoses and their probe runs.

Usage: python benchmarks/grading_cost.py [--assignment backprop] [--seed 1] [--repeats 3]
                                        [--profile intake|checks] NOTEBOOK...
Per notebook: the median seconds of intake (read + extraction), checks and diagnoses over
`--repeats` in-process gradings (the sandbox runs once per grading; its time is not shown here,
see grade_examples.py), and the trusted probe runs judging made (the reference's and the mutants'
on the probes as asked), by probe kind, with their seconds. `--profile` prints cProfile's top functions of
intake (the notebook read and parsed 50 times) or of judging (checks and diagnoses, on one
sandbox execution judged again 5 times). Wall-clock on a shared machine: note its load; run with
OPENBLAS_NUM_THREADS=1 to compare with the sandbox's one BLAS thread.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader import data, pipeline, probing, spec, trajectory  # noqa: E402
from grader.config import Settings  # noqa: E402
from grader.expected import Expected  # noqa: E402
from grader.extraction import extract  # noqa: E402
from grader.intake import read_bytes  # noqa: E402
from grader.probing import Plan  # noqa: E402
from grader.sandbox import execute  # noqa: E402


class TrustedRuns:
    """Counts and times the trusted probe runs, the reference's (`ref`) and the mutants' (`mutant`), by kind."""

    def __init__(self, reference: dict) -> None:
        self.reference = reference
        self.count: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._run = probing.trusted_outcome

    def __enter__(self) -> TrustedRuns:
        def counted(request, namespace):  # noqa: ANN001, ANN202 - probing.trusted_outcome's signature
            started = time.perf_counter()
            try:
                return self._run(request, namespace)
            finally:
                key = f"{'ref' if namespace is self.reference else 'mutant'}:{request.kind}"
                self.count[key] += 1
                self.seconds[key] += time.perf_counter() - started
        probing.trusted_outcome = counted
        return self

    def __exit__(self, *exc: object) -> None:
        probing.trusted_outcome = self._run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--assignment", default="backprop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", choices=("intake", "checks"))
    args = parser.parse_args()
    assignment, settings = spec.load(args.assignment), Settings.from_env()
    pipeline.grade_file(args.notebooks[0], assignment, settings, seed=args.seed)   # warm caches
    print("notebook  intake  checks  (diagnosis)  cpu  cpu-no-diagnose  trusted probe runs (ref/mutant:kind): n/s")
    for path in args.notebooks:
        blob = path.read_bytes()
        intake = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            extract(read_bytes(blob, settings.max_notebook_bytes).code_cells, assignment.mode)
            intake.append(time.perf_counter() - started)
        plan, execution = _executed(blob, assignment, settings, args.seed)
        runs = TrustedRuns(assignment.reference_namespace)
        with runs:
            _judged(blob, assignment, settings, plan, execution)
        timed = [_judged(blob, assignment, settings, plan, execution) for _ in range(args.repeats)]
        checks, diagnosis, cpu = ([t[i] for t in timed] for i in range(3))
        bare = statistics.median(_judged(blob, assignment, settings, plan, execution, False)[2]
                                 for _ in range(args.repeats))
        kinds = "  ".join(f"{k} {n}/{runs.seconds[k]:.3f}" for k, n in sorted(runs.count.items()))
        print(f"{path.name[:32]:32}  {statistics.median(intake):.3f}  {statistics.median(checks):.3f}  "
              f"({statistics.median(diagnosis):.3f})  {statistics.median(cpu):.3f}  {bare:.3f}  "
              f"{sum(runs.count.values())} runs: {kinds}")
        if args.profile:
            _profile(args.profile, blob, assignment, settings, plan, execution)


def _executed(blob: bytes, assignment: spec.Assignment, settings: Settings, seed: int) -> tuple:
    program = extract(read_bytes(blob, settings.max_notebook_bytes).code_cells, assignment.mode)
    plan = Plan(assignment, program, seed, trajectory.training_key(settings))
    return plan, execute(program, plan, assignment.limits, data.sandbox_files(assignment, settings), settings)


def _judged(blob: bytes, assignment: spec.Assignment, settings: Settings, plan: Plan,
            execution: object, diagnose: bool = True) -> tuple[float, float, float]:
    """Seconds of judging (checks with diagnoses, as the pipeline times them), of diagnoses alone,
    and the process's CPU seconds of judging (steadier than wall-clock on a shared machine; the
benchmark prints them with and without diagnoses);
    the reference's outcomes are computed afresh each time, as for a new submission's seed."""
    notebook = read_bytes(blob, settings.max_notebook_bytes)
    asked = plan.probing(execution.statement_errors)
    started, cpu = time.perf_counter(), time.process_time()
    _, diagnosis = pipeline.judge(assignment, settings, notebook, plan.program, asked, execution, "en",
                                  Expected(assignment, settings), diagnose)
    return time.perf_counter() - started, diagnosis, time.process_time() - cpu


def _profile(phase: str, blob: bytes, assignment: spec.Assignment, settings: Settings, plan: Plan,
             execution: object) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(50 if phase == "intake" else 5):
        if phase == "intake":
            extract(read_bytes(blob, settings.max_notebook_bytes).code_cells, assignment.mode)
        else:
            _judged(blob, assignment, settings, plan, execution)
    profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
