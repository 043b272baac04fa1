"""Where grading time goes: per notebook (intake, sandbox start, each unit) and for whole batches.

Usage: python benchmarks/grade_examples.py [ASSIGNMENT [FOLDER]]   (default: every assignment, its bundled examples)
Measures wall-clock on this machine; run it on an otherwise idle machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader import pipeline, spec  # noqa: E402
from grader.config import Settings  # noqa: E402
from grader.inside import wire  # noqa: E402
from grader.sandbox import Sandbox  # noqa: E402
from grader.types import Limits  # noqa: E402

GRADER = str(Path(sys.executable).with_name("grader"))


def sandbox_start(settings: Settings, repeats: int = 10) -> float:
    """Median seconds to start a sandbox, load nothing and stop: the fixed cost per session."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with Sandbox(Limits(), {}, settings) as session:
            session.send(wire.LOAD(limits=Limits().for_harness(), own_pid_namespace=not settings.unsafe_no_sandbox,
                                   files={}, skip=[], statements=[]))
            session.receive(30)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def command(assignment: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([GRADER, "grade", "--assignment", assignment, *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    names = sys.argv[1:2] or spec.available()
    settings = Settings.from_env()
    for name in names:
        folder = Path(sys.argv[2]) if len(sys.argv) > 2 else REPO / "assignments" / name / "examples"
        per_assignment(spec.load(name), sorted(folder.glob("*.ipynb")), folder, settings)
    start = sandbox_start(settings)
    print(f"\nsandbox start overhead (bwrap + interpreter + numpy, median of 10): {start:.3f} s per notebook")


def per_assignment(assignment: spec.Assignment, notebooks: list[Path], folder: Path, settings: Settings) -> None:
    pipeline.grade_file(notebooks[0], assignment, settings, seed=1)  # warm the data cache
    print(f"\n{assignment.name}: per notebook (in-process, seed 1), seconds — {len(notebooks)} notebooks from {folder}")
    units = list(assignment.units)
    header = ["notebook", "intake", "start+load", *units, "checks", "(diagnosis)", "total"]
    print("  ".join(header))
    for path in notebooks:
        t = pipeline.grade_file(path, assignment, settings, seed=1).timings
        per_unit = [sum(v for k, v in t.items() if k.startswith(f"unit:{u}:")) for u in units]
        row = [t.get("intake", 0), t.get("sandbox_start_and_load", 0), *per_unit, t.get("checks", 0),
               t.get("diagnosis", 0), t["total"]]
        print("  ".join([path.name[:28].ljust(28), *(f"{x:.3f}" for x in row)]))
    own, again = len(assignment.units), sum(1 for u in assignment.units.values() if u.substitute)
    print(f"  one sandbox per submission, a fork per unit run ({own} runs; up to {again} more with the reference's"
          " dependencies, for units whose own run failed a check)")

    one = command(assignment.name, str(notebooks[0]))
    print(f"whole `grader grade` command, 1 notebook: {one:.2f} s (aim < 1.5 s)")
    ten = [notebooks[i % len(notebooks)] for i in range(10)]
    for jobs in (1, 2):
        seconds = command(assignment.name, "--jobs", str(jobs), *map(str, ten))
        print(f"whole command, 10 notebooks, --jobs {jobs}: {seconds:.2f} s" + ("  (aim < 5 s)" if jobs == 2 else ""))


if __name__ == "__main__":
    main()
