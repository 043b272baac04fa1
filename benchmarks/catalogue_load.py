"""What the message catalogue costs a process: parsing the .po files with Babel, or reading its cache.

Usage: python benchmarks/catalogue_load.py [REPEATS]   (default 10)
Each figure is the median over fresh interpreters, in milliseconds: `cold` is the first use with
no cache (importing Babel and parsing the four files, as after an edit), `warm` a first use that
finds the cache, as every later process does. The catalogue is copied to a temporary folder, so
the installation's own cache is left as it is.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import sys, time
from pathlib import Path
from grader import catalogue
start = time.perf_counter()
catalogue.load(Path(sys.argv[1]))
print((time.perf_counter() - start) * 1000)
"""


def first_use_ms(locale: Path, cold: bool) -> float:
    if cold:
        shutil.rmtree(locale / ".cache", ignore_errors=True)
    run = subprocess.run([sys.executable, "-c", PROBE, str(locale)], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return float(run.stdout)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp:
        locale = Path(tmp) / "locale"
        shutil.copytree(ROOT / "grader" / "locale", locale, ignore=shutil.ignore_patterns(".cache"))
        for name, cold in (("cold (Babel import + parse, then cached)", True), ("warm (the cache)", False)):
            figures = [first_use_ms(locale, cold) for _ in range(repeats)]
            print(f"{name:42s} {statistics.median(figures):7.1f} ms  (min {min(figures):.1f})")


if __name__ == "__main__":
    main()
