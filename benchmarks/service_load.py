"""The service under load: upload-to-result latency and burst throughput, beside `grader grade --jobs 2`.

Usage: python benchmarks/service_load.py [--n 100] [--idle 10] [--students 1]

Starts its own service in a temporary data dir (a private redis-server, SQLite, `grader serve --workers 0`,
then `grader worker --concurrency 1` and `2`) and posts N distinct notebooks: the bundled examples,
each copy with its own comment cell, so no two uploads are the same bytes, from `--students` students in turn
(one by default: then at most two of the burst are queued or running at once, the service's per-student turns,
and a worker waits for the next to be handed on after each; a class's burst comes from many). Prints:
  - one notebook at a time on an idle service: upload-to-result p50/p95 (client clock, 10 ms polling);
  - a burst of N posted at once, per worker concurrency: upload-to-result p50/p95 and throughput;
  - the CLI's throughput for the same N notebooks (`grader grade --jobs 2`).
Wall-clock on this machine: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
from parts import GRADER, REPO, percentile, serve, wait_for

from service.processes import Processes, worker_argv
from service.settings import sqlite_url

EXAMPLES = sorted((REPO / "assignments" / "backprop" / "examples").glob("*.ipynb"))
TOKEN = "benchmark-instructor-token"


def notebooks(n: int, sources: list[Path] = EXAMPLES) -> list[tuple[str, bytes]]:
    """N distinct notebooks: the sources (the examples) in turn, each with a comment cell naming its copy."""
    out = []
    for i in range(n):
        nb = json.loads(sources[i % len(sources)].read_text(encoding="utf-8"))
        nb["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                            "source": [f"# copy {i} of {sources[i % len(sources)].name}"]})
        out.append((f"copy{i:03}.ipynb", json.dumps(nb).encode()))
    return out


class Service:
    def __init__(self, directory: Path, students: int = 1) -> None:
        self.processes = Processes()
        self.url, self.env = serve(self.processes, directory, {
            "GRADER_INSTRUCTOR_TOKEN": TOKEN, "GRADER_SUBMISSIONS_PER_MINUTE": "100000",
            "GRADER_DATABASE_URL": sqlite_url(directory)})
        self.http = httpx.Client(base_url=self.url, timeout=60)
        rows = "".join(f"bench{k},Bench {k},b{k}@x.org\n" for k in range(students))
        roster = self.http.post("/api/roster", content="id,name,email\n" + rows,
                                headers=self._auth(TOKEN) | {"Content-Type": "text/csv"}).json()
        self.students = [s["token"] for s in roster["students"]]
        self.worker: subprocess.Popen | None = None

    def _auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def use_workers(self, concurrency: int, log: Path) -> None:
        if self.worker is not None:
            os.killpg(self.worker.pid, 15)
            self.worker.wait()
        self.worker = self.processes.start(worker_argv(concurrency), env=self.env, log=log)   # beside serve: its SQLite
        wait_for(lambda: self.http.get("/healthz").status_code == 200 and
                 f"grader_worker_slots {concurrency}" in self.http.get("/metrics").text, 60, "the workers")

    def submit(self, name: str, blob: bytes, student: int = 0) -> str:
        answer = self.http.post("/api/assignments/backprop/submissions", headers=self._auth(self.students[student]),
                                files={"file": (name, blob, "application/x-ipynb+json")})
        answer.raise_for_status()
        return answer.json()["id"]

    def status(self, submission_id: str) -> dict:
        return self.http.get(f"/api/submissions/{submission_id}", headers=self._auth(TOKEN)).json()

    def close(self) -> None:
        self.http.close()
        self.processes.stop()


def idle_latency(service: Service, items: list[tuple[str, bytes]]) -> tuple[list[float], list[float]]:
    """One at a time: client-side seconds from the start of the upload to a visible report, and of those
    seconds what was not the grading itself (the report's own `timings.total`): the service's overhead."""
    times, overheads = [], []
    for name, blob in items:
        started = time.perf_counter()
        submission_id = service.submit(name, blob)
        while (status := service.status(submission_id))["status"] not in ("done", "failed"):
            time.sleep(0.01)
        times.append(time.perf_counter() - started)
        overheads.append(times[-1] - ((status.get("report") or {}).get("timings", {}).get("total", 0.0)))
    return times, overheads


def burst(service: Service, items: list[tuple[str, bytes]]) -> tuple[list[float], float]:
    """All posted at once by 10 clients: per-submission received->finished seconds, and submissions/second
    (the records' own times, first received to last finished: how often the watcher looks changes only what
    its looks cost; it looks once a second, each look ~15 ms of the API's CPU, which the workers share)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(lambda i: service.submit(*items[i], i % len(service.students)), range(len(items))))
    pending, finals = set(ids), {}
    while pending:
        listed = service.http.get("/api/submissions?assignment=backprop", headers=service._auth(TOKEN)).json()
        for s in listed["submissions"]:
            if s["id"] in pending and s["status"] in ("done", "failed"):
                finals[s["id"]] = s
                pending.discard(s["id"])
        time.sleep(1.0)
    elapsed = time.perf_counter() - started
    latencies = [(datetime.fromisoformat(s["phases"]["finished"]) - datetime.fromisoformat(s["phases"]["received"]))
                 .total_seconds() for s in finals.values()]
    last = max(datetime.fromisoformat(s["phases"]["finished"]) for s in finals.values())
    first = min(datetime.fromisoformat(s["phases"]["received"]) for s in finals.values())
    return latencies, len(items) / min(elapsed, (last - first).total_seconds())


def cli_throughput(items: list[tuple[str, bytes]], folder: Path) -> float:
    folder.mkdir()
    for name, blob in items:
        (folder / name).write_bytes(blob)
    started = time.perf_counter()
    subprocess.run([GRADER, "grade", "--assignment", "backprop", "--jobs", "2", "--format", "json",
                    "--out", str(folder / "out.json"), str(folder)], check=True, stderr=subprocess.DEVNULL)
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100, help="notebooks in the burst (default 100)")
    parser.add_argument("--idle", type=int, default=10, help="notebooks graded one at a time (default 10)")
    parser.add_argument("--students", type=int, default=1, help="students the burst comes from, in turn (default 1)")
    args = parser.parse_args()
    items = notebooks(args.n + args.idle)
    with tempfile.TemporaryDirectory(prefix="service-load-") as tmp:
        directory = Path(tmp)
        service = Service(directory, args.students)
        try:
            service.use_workers(1, directory / "worker1.log")
            idle, overhead = idle_latency(service, items[args.n:])
            print(f"idle service, one notebook at a time ({args.idle}): upload-to-result "
                  f"p50 {statistics.median(idle):.2f} s, p95 {percentile(idle, 0.95):.2f} s "
                  f"(of which not grading: p50 {statistics.median(overhead):.2f} s)")
            rates = {}
            for concurrency in (1, 2):
                service.use_workers(concurrency, directory / f"worker{concurrency}.log")
                latencies, rates[concurrency] = burst(service, items[:args.n])
                print(f"burst of {args.n} from {args.students} student(s), worker --concurrency {concurrency}: "
                      f"upload-to-result p50 {statistics.median(latencies):.1f} s, "
                      f"p95 {percentile(latencies, 0.95):.1f} s, {rates[concurrency]:.2f} notebooks/s")
        finally:
            service.close()
        cli = cli_throughput(items[:args.n], directory / "cli")
        print(f"CLI `grader grade --jobs 2`, same {args.n} notebooks: {cli:.2f} notebooks/s")
        print(f"service with 2 worker processes / CLI --jobs 2: {rates[2] / cli:.0%}")


if __name__ == "__main__":
    main()
