"""compose.server.yml and compose.worker.yml: the API machine's services and a worker machine's, each file on its
own, with the health checks, restart policies, passwords and sandbox options they need; docker-compose.yml: both
on one machine.

No Docker engine runs here: each file is checked with `docker compose config` when the compose plugin exists,
else parsed as YAML.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from grader.config import REPO_ROOT

SERVER, WORKER = REPO_ROOT / "compose.server.yml", REPO_ROOT / "compose.worker.yml"
ONE_MACHINE = REPO_ROOT / "docker-compose.yml"
ENV = {"POSTGRES_PASSWORD": "p", "REDIS_PASSWORD": "r", "GRADER_INSTRUCTOR_TOKEN": "x",
       "GRADER_DATABASE_URL": "postgresql://grader:p@api:5432/grader", "GRADER_BROKER_URL": "redis://:r@api:6379/0"}


def compose_config(path: Path) -> dict:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        done = subprocess.run([docker, "compose", "-f", str(path), "config", "--format", "json"],
                              capture_output=True, text=True, env={**ENV, "PATH": "/usr/bin"})
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return yaml.safe_load(path.read_text())


def test_the_server_file_runs_web_redis_and_postgres_with_passwords_and_restarts() -> None:
    services = compose_config(SERVER)["services"]
    assert set(services) == {"redis", "postgres", "web"}
    assert all("healthcheck" in s and s["restart"] == "unless-stopped" for s in services.values())
    redis = services["redis"]
    assert "--appendonly" in redis["command"] and "--requirepass" in redis["command"] and redis["ports"]
    assert any("/var/lib/postgresql/data" in str(v) for v in services["postgres"]["volumes"])
    env = services["web"]["environment"]
    assert "@postgres:5432/" in env["GRADER_DATABASE_URL"]
    assert env["GRADER_BROKER_URL"].startswith("redis://:") and env["GRADER_BROKER_URL"].endswith("@redis:6379/0")
    assert services["web"]["command"][:1] == ["serve"] and "--workers" in services["web"]["command"]


def test_the_worker_file_needs_only_the_two_urls_and_probes_its_sandbox() -> None:
    services = compose_config(WORKER)["services"]
    assert set(services) == {"worker"}
    worker = services["worker"]
    assert set(worker["environment"]) == {"GRADER_DATABASE_URL", "GRADER_BROKER_URL"}
    assert "depends_on" not in worker and "ports" not in worker and "container_name" not in worker
    assert worker["command"][0] == "worker" and worker["restart"] == "unless-stopped"
    assert worker["healthcheck"]["test"][-2:] == ["worker", "--probe"]
    assert set(worker["security_opt"]) == {"seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"}


def test_one_machine_runs_the_server_file_and_a_worker_on_its_own_postgres_and_redis() -> None:
    config = compose_config(ONE_MACHINE)
    services = config["services"]
    if "include" in config:  # parsed as YAML: the server file is included as it is, the worker extends its own
        assert config["include"] == [SERVER.name]
        assert services["worker"]["extends"] == {"file": WORKER.name, "service": "worker"}
        assert set(config["volumes"]) >= set(compose_config(WORKER)["volumes"])
    else:
        assert set(services) == {"redis", "postgres", "web", "worker"}
        assert services["worker"]["security_opt"] and services["worker"]["healthcheck"]
    worker, web = services["worker"], compose_config(SERVER)["services"]["web"]
    for url in ("GRADER_DATABASE_URL", "GRADER_BROKER_URL"):
        assert worker["environment"][url] == web["environment"][url]
    assert worker["depends_on"]["web"]["condition"] == "service_healthy"
