"""Do verdicts depend on the seed? Grade whole notebooks, in the sandbox, over many seeds.

Usage: python benchmarks/seed_verdicts.py [--seeds 2000] [--first 0] [--chunk 100] [--skip-bundled]
                                          [--exclude GLOB ...] [FOLDER ...]

Grades every notebook in assignments/backprop/examples/ and in each FOLDER given, over seeds
first..first+N-1 (each notebook is loaded once; a unit's probes for up to `chunk` seeds run in
one unit run; see grader/seeds.py), and prints, per notebook and unit, how many seeds gave each
verdict, then the flake rate per unit: the share of (notebook, seed) pairs whose verdict differs
from that notebook's most common one. The training run (accuracy) has the same inputs for every
seed, so it runs once per notebook. A numerical gradient spends the harness's one-second stop on
every seed's large network, so such notebooks are best measured apart, with fewer seeds (--exclude).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader import seeds, spec  # noqa: E402
from grader.config import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--skip-bundled", action="store_true", help="only the FOLDERs' notebooks")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave out matching names")
    args = parser.parse_args()
    assignment, settings = spec.load("backprop"), Settings.from_env()
    notebooks = [] if args.skip_bundled else sorted((REPO / "assignments" / "backprop" / "examples").glob("*.ipynb"))
    for folder in args.folders:
        notebooks += sorted(folder.glob("*.ipynb"))
    notebooks = [n for n in notebooks if not any(n.match(pattern) for pattern in args.exclude)]
    drawn = list(range(args.first, args.first + args.seeds))
    expected: dict = {}
    deviations, totals = Counter(), Counter()
    print(f"{len(notebooks)} notebooks x {len(drawn)} seeds ({drawn[0]}..{drawn[-1]})")
    for path in notebooks:
        started = time.monotonic()
        result = seeds.over_seeds(path.read_bytes(), assignment, settings, drawn, args.chunk, expected)
        print(f"\n{path.parent.name}/{path.name}  ({time.monotonic() - started:.0f} s)")
        for unit, counts in result.counts.items():
            common = counts.most_common(1)[0][1]
            deviations[unit] += sum(counts.values()) - common
            totals[unit] += sum(counts.values())
            for verdict, n in counts.most_common():
                print(f"  {unit:20s} {n:5d}  {verdict}"[:220])
                if len(counts) > 1 and n != common:
                    print(f"  {'':20s}        e.g. {result.examples[(unit, verdict)]}"[:400])
    print("\nflake rate per unit (seeds off their notebook's most common verdict / notebook-seeds)")
    for unit in assignment.units:
        print(f"  {unit:20s} {deviations[unit]:6d} / {totals[unit]:6d} = {deviations[unit] / max(totals[unit], 1):.4%}")


if __name__ == "__main__":
    main()
