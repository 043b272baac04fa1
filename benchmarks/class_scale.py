"""A class's records: how fast every page and export answers at 300 students x 8 attempts and 2,000 x 10.

Usage: python benchmarks/class_scale.py [--scales 300x8,2000x10] [--databases sqlite,postgresql] [--requests 20]
       [--jobs N] [--keep] [--again DIR]

For each database (SQLite in a temporary directory; a database of its own on the PostgreSQL at 127.0.0.1:5432,
created here and dropped at the end) and each scale, fills a fresh database through the service's own record
path (lifecycle.receive -> the student's turn queued -> claim -> record, every submission with the seed notebook's
bytes), with reports synthesised from one real graded report (the seed notebook's: each unit of an attempt
either as graded or repaired to full marks, later attempts more often repaired), then starts `grader serve`
on it and times over HTTP, p50 and p95 of N requests each: the instructor's gradebook page, the results JSON,
the gradebook CSV, the instructor's overview, the gradebook filtered by its most common failure, a student's
assignment page, their result page and the status poll. Prints one table and the database's size per
scale (it should grow linearly with the submissions). Wall-clock on this machine: run it when it is idle.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
from parts import REPO, database, percentile, serve

from grader import pipeline
from grader.config import Settings
from service import assignments, db, lifecycle
from service.processes import Processes
from service.settings import ServiceSettings
from service.store import Store

SEED_NOTEBOOK = REPO.parent / "shared" / "examples" / "02_seed_as_submitted.ipynb"
TOKEN = "class-scale-instructor-token"
ASSIGNMENT = "backprop"
WORKER = lifecycle.WorkerIdentity("class-scale")


def synthesise(real: dict, attempt: int, attempts: int, rng: random.Random) -> dict:
    """A plausible report of a student's `attempt`-th try: each unit as the real report graded it, or repaired
    (every check passed, full marks), with repairs more likely on later attempts. Shares what it does not change."""
    repair = 0.2 + 0.7 * attempt / max(1, attempts - 1)
    units = {name: {**unit, "score": unit["max_score"], "checks": [{**c, "passed": True} for c in unit["checks"]]}
             if rng.random() < repair else unit for name, unit in real["units"].items()}
    return {**real, "units": units, "score": sum(u["score"] for u in units.values())}


def size_bytes(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def fill(url: str, settings: ServiceSettings, real: dict, notebook: bytes, students: range, attempts: int) -> None:
    """`attempts` graded submissions for each of these roster students, through receive -> take_turns -> claim ->
    record, on an engine of its own (one per process of the fill)."""
    engine = db.make_engine(url)
    store = Store(engine)
    rng = random.Random(students.start)
    started = time.perf_counter()
    for done, n in enumerate(students):
        if done and done % 200 == 0:
            print(f"  {done} of students {students.start}-{students.stop - 1} filled "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        for attempt in range(attempts):
            submission = lifecycle.receive(store, f"s{n:05}", ASSIGNMENT, f"attempt{attempt}.ipynb", notebook)
            assert store.take_turns(submission.student, settings.max_active_per_student) == [submission.id]
            claim = lifecycle.claim(store, submission.id, WORKER, settings)
            report = synthesise(real, attempt, attempts, rng) | {"seed": submission.seed,
                                                                 "submission": submission.filename}
            assert claim is not None and lifecycle.record(store, claim, report, 1.0)
    engine.dispose()


def fill_in_parallel(url: str, settings: ServiceSettings, real: dict, notebook: bytes, students: int,
                     attempts: int, jobs: int) -> None:
    """The fill split by students over `jobs` processes (the record path is the same; the machine's cores and
    the database's own concurrency do the rest)."""
    share = -(-students // jobs)
    ranges = [range(i, min(students, i + share)) for i in range(0, students, share)]
    with ProcessPoolExecutor(len(ranges)) as pool:
        for done in [pool.submit(fill, url, settings, real, notebook, r, attempts) for r in ranges]:
            done.result()


def signed_in(http: httpx.Client, token: str) -> dict[str, str]:
    """The session cookie of `token`'s user, signed in through the sign-in form (sent as a header: it is Secure)."""
    form = http.get("/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    first = {"Cookie": f"grader_session={form.cookies['grader_session']}"}
    answer = http.post("/signin", data={"csrf_token": csrf, "token": token}, headers=first)
    return {"Cookie": f"grader_session={answer.cookies['grader_session']}"}


def timings(http: httpx.Client, urls: dict[str, tuple[str, dict]], n: int) -> dict[str, tuple[float, float]]:
    out = {}
    for label, (url, headers) in urls.items():
        seconds = []
        for _ in range(n):
            started = time.perf_counter()
            answer = http.get(url, headers=headers)
            seconds.append(time.perf_counter() - started)
            answer.raise_for_status()
        out[label] = (statistics.median(seconds), percentile(seconds, 0.95))
        print(f"  {label:22} p50 {out[label][0]:.3f} s  p95 {out[label][1]:.3f} s", flush=True)
    return out


def measure(url: str, directory: Path, n: int) -> dict[str, tuple[float, float]]:
    """`grader serve` on the filled database, and the timings of each page over HTTP."""
    processes = Processes()
    try:
        address, _ = serve(processes, directory, {"GRADER_DATABASE_URL": url, "GRADER_INSTRUCTOR_TOKEN": TOKEN},
                           timeout=300)    # a loaded machine migrates a large database slowly
        with httpx.Client(base_url=address, timeout=120) as http:
            api = {"Authorization": f"Bearer {TOKEN}"}
            student_token = directory.joinpath("student-token").read_text()
            instructor, student = signed_in(http, TOKEN), signed_in(http, student_token)
            mine = http.get(f"/api/submissions?assignment={ASSIGNMENT}",
                            headers={"Authorization": f"Bearer {student_token}"}).json()["submissions"][0]["id"]
            common = re.search(r'\?failing=([^"]+)"', http.get(f"/instructor/assignments/{ASSIGNMENT}",
                                                                headers=instructor).text)
            failing = common.group(1) if common else quote("none")
            urls = {"gradebook page": (f"/instructor/assignments/{ASSIGNMENT}", instructor),
                    "results JSON": (f"/api/assignments/{ASSIGNMENT}/results", api),
                    "gradebook CSV": (f"/instructor/assignments/{ASSIGNMENT}/gradebook.csv", instructor),
                    "overview": ("/instructor", instructor),
                    "common failure": (f"/instructor/assignments/{ASSIGNMENT}?failing={failing}", instructor),
                    "student's assignment": (f"/assignments/{ASSIGNMENT}", student),
                    "result page": (f"/submissions/{mine}", student),
                    "status poll": (f"/submissions/{mine}/status", student)}
            http.get(urls["result page"][0], headers=student)     # its first view may compute what it caches
            return timings(http, urls, n)
    finally:
        processes.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="300x8,2000x10", help="students x attempts, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=1, help="processes filling side by side (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep each filled database (and say where)")
    parser.add_argument("--again", type=Path, metavar="DIR", help="only time a database kept by --keep")
    args = parser.parse_args()
    table = []
    if args.again:
        url = args.again.joinpath("database-url").read_text()
        for label, (p50, p95) in measure(url, args.again, args.requests).items():
            table.append((url.partition(":")[0], args.again.name, label, p50, p95))
    scales = [] if args.again else [tuple(int(x) for x in s.split("x")) for s in args.scales.split(",")]
    settings = ServiceSettings.from_env()
    spec = assignments.specs(settings.assignments_dir)[ASSIGNMENT]
    notebook = SEED_NOTEBOOK.read_bytes()
    real = pipeline.grade_bytes(notebook, SEED_NOTEBOOK.name, spec, Settings.from_env(), seed=1).to_dict()
    for kind in args.databases.split(",") if scales else ():
        for students, attempts in scales:
            with database(kind, args.keep) as (directory, url):
                engine = db.make_engine(url)
                db.migrate(engine)
                store = Store(engine)
                assignments.register(store, settings.assignments_dir)
                empty = size_bytes(url)
                entries = store.import_roster("id,name,email\n" + "".join(
                    f"s{n:05},Student {n},s{n}@example.org\n" for n in range(students)))
                directory.joinpath("student-token").write_text(entries[0].token)
                engine.dispose()
                started = time.perf_counter()
                fill_in_parallel(url, settings, real, notebook, students, attempts, args.jobs)
                seconds = time.perf_counter() - started
                grown = size_bytes(url) - empty
                print(f"{kind} {students}x{attempts}: filled in {seconds:.0f} s, database +{grown / 2**20:.0f} MB "
                      f"({grown / (students * attempts) / 1024:.1f} KB per submission)", flush=True)
                for label, (p50, p95) in measure(url, directory, args.requests).items():
                    table.append((kind, f"{students}x{attempts}", label, p50, p95))
    print("\n| database | scale | request | p50 (s) | p95 (s) |\n|---|---|---|---|---|")
    for kind, scale, label, p50, p95 in table:
        print(f"| {kind} | {scale} | {label} | {p50:.3f} | {p95:.3f} |")


if __name__ == "__main__":
    main()
