"""What starting one sandbox costs, and what each hardening layer adds to it.

Usage: python benchmarks/sandbox_start.py [REPEATS]   (default 30)
Prints medians in milliseconds: a bare bwrap running `true`, the same with the seccomp filter,
with the switch to a sandbox UID (as root), and a whole grader session (bwrap + setpriv + the
interpreter + numpy + the harness, until it answers `loaded`). Wall clock on this machine: run
it when the machine is otherwise idle, and compare figures from the same run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.config import Settings  # noqa: E402
from grader.inside import wire  # noqa: E402
from grader.sandbox import Sandbox, seccomp  # noqa: E402
from grader.types import Limits  # noqa: E402

BARE = ["bwrap", "--unshare-all", "--unshare-user", "--ro-bind", "/", "/", "--die-with-parent", "--", "/bin/true"]


def medians_ms(rows: list[tuple[str, Callable[[], object]]], repeats: int) -> dict[str, float]:
    """Each variant once per round, round after round, so a change in the machine's load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name, _ in rows}
    for round_ in range(repeats + 1):
        for name, run in rows:
            started = time.perf_counter()
            run()
            if round_:  # the first round only warms caches
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def bwrap(prefix: list[str] = (), filtered: bool = False) -> Callable[[], object]:
    def run() -> None:
        fds: tuple[int, ...] = ()
        argv = [*prefix, *BARE]
        if filtered:
            r, w = os.pipe()
            os.write(w, seccomp.program())
            os.close(w)
            fds = (r,)
            argv[len(prefix) + 1:len(prefix) + 1] = ["--seccomp", str(r)]
        try:
            subprocess.run(argv, check=True, pass_fds=fds)
        finally:
            for fd in fds:
                os.close(fd)
    return run


def session(settings: Settings) -> Callable[[], object]:
    def run() -> None:
        with Sandbox(Limits(), {}, settings) as s:
            s.send(wire.LOAD(limits=Limits().for_harness(), own_pid_namespace=True, files={}, skip=[], statements=[]))
            s.receive(30)
    return run


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    settings = Settings.from_env()
    uids = settings.sandbox_uids
    rows = [("bwrap true", bwrap()), ("bwrap true + seccomp filter", bwrap(filtered=True))]
    if uids is not None:
        as_user = ["setpriv", f"--reuid={uids.start}", f"--regid={uids.start}", "--clear-groups", "--"]
        rows += [("bwrap true + UID switch (setpriv)", bwrap(as_user)),
                 ("bwrap true + both", bwrap(as_user, filtered=True))]
    rows.append(("whole session: start until loaded", session(settings)))
    print(f"median of {repeats} interleaved rounds, milliseconds "
          f"({'root: UID per sandbox' if uids else 'unprivileged'})")
    for name, ms in medians_ms(rows, repeats).items():
        print(f"  {name:<36} {ms:7.1f}")


if __name__ == "__main__":
    main()
