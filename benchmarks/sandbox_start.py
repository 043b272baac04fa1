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

from grader import seccomp  # noqa: E402
from grader.config import Settings  # noqa: E402
from grader.sandbox import Limits, Session  # noqa: E402

BARE = ["bwrap", "--unshare-all", "--unshare-user", "--ro-bind", "/", "/", "--die-with-parent", "--", "/bin/true"]


def median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # warm caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


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


def session() -> None:
    with Session(Limits(), {}) as s:
        s.send({"op": "load", "statements": [], "limits": Limits().for_harness(), "own_pid_namespace": True})
        s.receive(30)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    uids = Settings.from_env().sandbox_uids
    rows = [("bwrap true", bwrap()), ("bwrap true + seccomp filter", bwrap(filtered=True))]
    if uids is not None:
        as_user = ["setpriv", f"--reuid={uids.start}", f"--regid={uids.start}", "--clear-groups", "--"]
        rows += [("bwrap true + UID switch (setpriv)", bwrap(as_user)),
                 ("bwrap true + both", bwrap(as_user, filtered=True))]
    rows.append(("whole session: start until loaded", session))
    print(f"median of {repeats}, milliseconds ({'root: UID per sandbox' if uids else 'unprivileged'})")
    for name, run in rows:
        print(f"  {name:<36} {median_ms(run, repeats):7.1f}")


if __name__ == "__main__":
    main()
