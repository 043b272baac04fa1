"""Throughput by worker machine count: the same burst graded by 1, 2, ... machines that share nothing but the network.

Usage (root): python benchmarks/worker_machines.py [--machines 3] [--n 24]

Builds what tests/test_multihost.py builds (a private PostgreSQL and Redis on veth addresses, `grader serve
--workers 0`, worker machines in their own network namespaces, hostnames, homes and clones, each
`grader worker --concurrency 1`), then for k = 1 .. --machines posts N backprop notebooks (the shared
examples, cycled) and prints, per k: seconds from the first upload to the last result, gradings per minute,
and how many each machine graded. Wall-clock on this machine: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from service.models import Submission  # noqa: E402
from service.processes import Processes  # noqa: E402
from tests.conftest import SHARED_EXAMPLES  # noqa: E402
from tests.machines import Machine, Network, Postgres, broker, folder  # noqa: E402
from tests.service_parts import Stack, make_assignments_dir, service_env, submit, wait_until  # noqa: E402


def burst(stack: Stack, store, token: str, notebooks: list[Path], n: int) -> tuple[float, list[tuple[str, str]]]:
    """Post n notebooks; the seconds until the last is finished, and (status, worker) of each."""
    started = time.monotonic()
    with stack.client(token) as client:
        ids = [submit(client, "backprop", notebooks[i % len(notebooks)].name,
                      notebooks[i % len(notebooks)].read_bytes()) for i in range(n)]

    def finished() -> list[tuple[str, str]]:
        with store.sessions() as s:
            return [tuple(row) for row in s.execute(select(Submission.status, Submission.worker).where(
                Submission.id.in_(ids), Submission.status.in_(("done", "failed"))))]
    wait_until(lambda: len(finished()) == n, 900, "the burst", every=0.5)
    return time.monotonic() - started, finished()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=3)
    parser.add_argument("--n", type=int, default=24)
    args = parser.parse_args()
    notebooks = sorted(SHARED_EXAMPLES.glob("*.ipynb"))
    with ExitStack() as cleanup:
        network, processes = Network(cleanup), Processes()
        machines = [Machine.make(cleanup, network, chr(ord("a") + i), 910_000 + 100 * i) for i in range(args.machines)]
        cleanup.callback(processes.stop, timeout=5)
        addresses = [m.link.server_ip for m in machines]
        postgres = Postgres(cleanup, processes, addresses, f"{network.prefix}.0/24")
        urls = {"GRADER_DATABASE_URL": postgres.url(addresses[0]),
                "GRADER_BROKER_URL": broker(cleanup, processes, addresses)}
        server = folder(cleanup, "grader-server-", 0o700)
        (server / "var").mkdir()
        stack = Stack(service_env(server / "var", urls["GRADER_DATABASE_URL"], urls["GRADER_BROKER_URL"],
                                  make_assignments_dir(server), GRADER_CACHE_DIR=str(server / "cache"),
                                  GRADER_REQUEUE_AFTER="600", GRADER_SUBMISSIONS_PER_MINUTE="1000",
                                  GRADER_MAX_ACTIVE_PER_STUDENT="1000"), server)
        cleanup.callback(stack.processes.stop, timeout=5)
        stack.start_api(timeout=120)
        store = stack.store()
        cleanup.callback(store.engine.dispose)
        token = stack.roster("bench")["bench"]
        print(f"{args.n} backprop notebooks per burst, each machine `grader worker --concurrency 1`")
        for k in range(1, args.machines + 1):
            for machine in machines[:k]:
                if not any(w.host == machine.name for w in store.live_workers()):
                    machine.worker(processes, machine.env(**urls))
            wait_until(lambda k=k: sum(w.state == "ready" for w in store.live_workers()) >= k, 300, "machines ready")
            seconds, rows = burst(stack, store, token, notebooks, args.n)
            shares = sorted(Counter(worker.rpartition(":")[0] for _, worker in rows).values(), reverse=True)
            print(f"{k} machine(s): {seconds:.1f} s, {60 * args.n / seconds:.1f} gradings/min, by machine {shares}, "
                  f"failed {sum(status != 'done' for status, _ in rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
