"""What a student waits for in the browser: upload -> result visible, p50 over N uploads of a correct notebook.

Usage: python benchmarks/result_latency.py [--n 10]

Starts its own service (service_load.Service: a private redis-server, SQLite, `grader serve --workers 0`, one
`grader worker --concurrency 1`), signs the student in with Debian's Chromium (Playwright), and for each upload
(the solution notebook, each copy with its own comment cell) times from the click on Submit to the result's
units table visible on the result page, which learns "done" from its long poll and swaps in the result from
that answer. One upload first warms the worker. Prints p50 and p95, and of each the grading itself (the
report's `timings.total`). Target: p50 <= 1.5 s. Wall-clock on this machine: run it when it is idle.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from parts import REPO, percentile
from playwright.sync_api import sync_playwright
from service_load import Service, notebooks

CHROMIUM = "/usr/bin/chromium"
CORRECT = REPO / "assignments" / "backprop" / "solution.ipynb"


def visible_after(page, path: Path) -> float:
    """Seconds from the click on Submit to the result's units on the page."""
    page.goto("/assignments/backprop")
    page.locator("#file").set_input_files(str(path))
    started = time.perf_counter()
    page.locator("#upload button[type=submit]").click()
    page.locator("#units").wait_for(state="visible", timeout=120_000)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10, help="uploads timed (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="result-latency-") as tmp:
        directory = Path(tmp)
        files = []
        for name, blob in notebooks(args.n + 1, [CORRECT]):
            files.append(directory / name)
            files[-1].write_bytes(blob)
        service = Service(directory)
        try:
            service.use_workers(1, directory / "worker.log")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_context(base_url=service.url, viewport={"width": 1280, "height": 900}).new_page()
                page.goto("/signin")
                page.locator("#token").fill(service.students[0])
                page.locator("main form button[type=submit]").click()
                page.wait_for_url(lambda url: "/signin" not in url)
                visible_after(page, files[0])                      # the worker's first grading warms it
                seen, grading = [], []
                for path in files[1:]:
                    seen.append(visible_after(page, path))
                    report = service.status(page.url.rsplit("/", 1)[1])["report"]
                    grading.append(report["timings"]["total"])
                    print(f"  {path.name}: visible after {seen[-1]:.2f} s (grading {grading[-1]:.2f} s)", flush=True)
                browser.close()
        finally:
            service.close()
    print(f"upload -> result visible in Chromium, {args.n} correct notebooks one at a time: "
          f"p50 {statistics.median(seen):.2f} s, p95 {percentile(seen, 0.95):.2f} s "
          f"(the grading itself: p50 {statistics.median(grading):.2f} s, p95 {percentile(grading, 0.95):.2f} s; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    sys.exit(main())
