"""Machines for the scale-out test, made of this host's parts: a network namespace per worker machine joined to
the server by a veth link, a private PostgreSQL cluster and a password-protected redis-server listening on the
links' server-side addresses, and worker machines with their own hostname (a UTS namespace), home, sandbox
folder and `git clone` of this repository. Everything is registered with an ExitStack as it is made, so it is
removed in reverse order however the test ends (processes, then the links and namespaces, then the folders)."""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg

from grader.sandbox import session
from service.processes import Processes, free_port, start_redis
from tests.service_parts import TINY_SPEC

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = ("ip", "nsenter", "unshare", "setpriv", "initdb", "postgres", "redis-server", "bwrap", "git")


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def folder(cleanup: ExitStack, prefix: str, mode: int = 0o755) -> Path:
    """A folder of its own under /tmp, removed at the end (0755: the sandbox's user must traverse it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(mode)
    cleanup.callback(shutil.rmtree, path, ignore_errors=True)
    return path


@dataclass(frozen=True)
class Link:
    """A worker machine's network: its namespace and the veth pair to the server, with the addresses on each end."""

    netns: str
    outside: str          # the server's end (cut it to cut the machine off)
    server_ip: str
    machine_ip: str

    def cut(self) -> None:
        run("ip", "link", "set", self.outside, "down")

    def restore(self) -> None:
        run("ip", "link", "set", self.outside, "up")


class Network:
    """Links made on demand, each a /30 of a random 10.x.y.0/24 (another run's links will not collide)."""

    def __init__(self, cleanup: ExitStack) -> None:
        self.cleanup, self.tag = cleanup, secrets.token_hex(3)
        self.prefix = f"10.{random.randrange(64, 250)}.{random.randrange(0, 250)}"
        self.links: list[Link] = []

    def link(self, letter: str) -> Link:
        n = len(self.links)
        netns, outside, inside = f"grader-{self.tag}-{letter}", f"gv{self.tag}{letter}", f"gp{self.tag}{letter}"
        link = Link(netns, outside, f"{self.prefix}.{4 * n + 1}", f"{self.prefix}.{4 * n + 2}")
        run("ip", "netns", "add", netns)
        self.cleanup.callback(subprocess.run, ["ip", "netns", "delete", netns], capture_output=True)
        run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside, "netns", netns)
        self.cleanup.callback(subprocess.run, ["ip", "link", "delete", outside], capture_output=True)
        run("ip", "addr", "add", f"{link.server_ip}/30", "dev", outside)
        run("ip", "link", "set", outside, "up")
        run("ip", "-n", netns, "addr", "add", f"{link.machine_ip}/30", "dev", inside)
        run("ip", "-n", netns, "link", "set", inside, "up")
        run("ip", "-n", netns, "link", "set", "lo", "up")
        self.links.append(link)
        return link


class Postgres:
    """A private PostgreSQL cluster (initdb into a folder of its own, its own port), run as the `postgres` user,
    listening on `addresses` only, password (SCRAM) required from the links; database `grader`."""

    def __init__(self, cleanup: ExitStack, processes: Processes, addresses: list[str], network: str) -> None:
        root = folder(cleanup, "grader-pg-", 0o700)
        shutil.chown(root, "postgres", "postgres")
        self.password, self.port = secrets.token_hex(16), free_port()
        (root / "pw").write_text(self.password)
        shutil.chown(root / "pw", "postgres", "postgres")
        as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
        subprocess.run([*as_postgres, "initdb", "-D", str(root / "data"), "-U", "grader", f"--pwfile={root / 'pw'}",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True)
        with open(root / "data" / "pg_hba.conf", "a") as hba:
            hba.write(f"host all grader {network} scram-sha-256\n")
        self.process = processes.start(
            [*as_postgres, "postgres", "-D", str(root / "data"), "-p", str(self.port),
             "-c", f"listen_addresses={','.join(addresses)}", "-c", f"unix_socket_directories={root}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            log=root / "postgres.log")
        cleanup.callback(self._stop)
        self.address = addresses[0]
        self._wait(f"postgresql://grader:{self.password}@{self.address}:{self.port}/postgres")
        with psycopg.connect(f"postgresql://grader:{self.password}@{self.address}:{self.port}/postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE grader")

    def url(self, address: str) -> str:
        return f"postgresql://grader:{self.password}@{address}:{self.port}/grader"

    def _wait(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.2)

    def _stop(self) -> None:
        """A fast shutdown (SIGINT: clients disconnected), not the smart one SIGTERM waits for."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def broker(cleanup: ExitStack, processes: Processes, addresses: list[str]) -> str:
    """A redis-server with a password, listening on the links' server-side addresses; its URL at the first."""
    return start_redis(processes, folder(cleanup, "grader-redis-", 0o700) / "redis", bind=tuple(addresses))


def at(url: str, address: str) -> str:
    """The same service URL reached at another of the server's addresses."""
    credentials, _, rest = url.rpartition("@")
    return f"{credentials}@{address}:{rest.partition(':')[2]}"


@dataclass
class Machine:
    """A worker machine: its link, hostname, home, sandbox folder and clone; nothing shared with the server or
    another machine but the network (and the Python environment the clone runs with, as /usr is)."""

    name: str
    link: Link
    root: Path
    uid_base: int

    @classmethod
    def make(cls, cleanup: ExitStack, network: Network, letter: str, uid_base: int) -> Machine:
        machine = cls(f"machine-{letter}-{network.tag}", network.link(letter), folder(cleanup, f"grader-{letter}-"),
                      uid_base)
        (machine.root / "home").mkdir()
        run("git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(machine.clone))
        diff = subprocess.run(["git", "-C", str(REPO), "diff", "HEAD", "--binary"], check=True,
                              capture_output=True).stdout
        if diff:    # the working tree's edits too: the clone is what this checkout would commit
            subprocess.run(["git", "-C", str(machine.clone), "apply", "-"], input=diff, check=True,
                           capture_output=True)
        (machine.clone / "assignments" / "tiny").mkdir()
        (machine.clone / "assignments" / "tiny" / "assignment.toml").write_text(TINY_SPEC)   # as the API's folder
        return machine

    @property
    def clone(self) -> Path:
        return self.root / "clone"

    def env(self, **urls: str) -> dict[str, str]:
        """What this machine's operator sets: the URLs given (at its link's server address), and nothing shared.
        Its sandbox folder and UIDs stand for the /var/lib/nn-grader and UID range every real machine has alone;
        its BLAS and SIMD choice is the fleet's image's (here, this machine's), as its CPU is."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root / "home"), "LANG": "C.UTF-8",
                **session.arithmetic_env(),
                "GRADER_SANDBOX_DIR": str(self.root / "sandbox"), "GRADER_SANDBOX_UID_BASE": str(self.uid_base),
                **{name: at(url, self.link.server_ip) for name, url in urls.items()}}

    def argv(self, *command: str) -> list[str]:
        """`command` run on this machine: in its network namespace (nsenter keeps the mounts, so the sandbox keeps
        its cgroups), under its own hostname, in its clone, by this Python."""
        return ["nsenter", f"--net=/run/netns/{self.link.netns}", "--", "unshare", "--uts", "--",
                "/bin/sh", "-c", 'hostname "$1" && cd "$2" && shift 2 && exec "$@"', "sh", self.name,
                str(self.clone), sys.executable, *command]

    def worker(self, processes: Processes, env: dict[str, str], concurrency: int = 1) -> subprocess.Popen:
        """`grader worker` on this machine, its own process group (killing the group kills the machine's worker)."""
        return processes.start(self.argv("-m", "grader.cli", "worker", "--concurrency", str(concurrency)), env=env,
                               log=self.root / "worker.log")

    def without_bwrap(self, env: dict[str, str]) -> dict[str, str]:
        """`env` with a bwrap first on PATH that fails as one does where user namespaces are not allowed."""
        fake = self.root / "broken-bin"
        fake.mkdir(exist_ok=True)
        (fake / "bwrap").write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
        (fake / "bwrap").chmod(0o755)
        return {**env, "PATH": f"{fake}:{env['PATH']}"}
