"""docker-compose.yml: the services an operator scales, with the health checks and sandbox options they need.

No Docker engine runs here: the file is checked with `docker compose config` when the compose plugin
exists, else parsed as YAML.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import yaml

from grader.config import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"


def compose_config() -> dict:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        done = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "--format", "json"],
                              capture_output=True, text=True, env={"GRADER_INSTRUCTOR_TOKEN": "x", "PATH": "/usr/bin"})
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_names_the_services_with_health_checks() -> None:
    services = compose_config()["services"]
    assert set(services) == {"redis", "postgres", "web", "worker"}
    assert all("healthcheck" in s for s in services.values())
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]
    assert any("/var/lib/postgresql/data" in str(v) for v in services["postgres"]["volumes"])


def test_web_and_workers_share_the_database_and_broker_and_workers_scale() -> None:
    services = compose_config()["services"]
    for name in ("web", "worker"):
        env = services[name]["environment"]
        database = env["GRADER_DATABASE_URL"]
        assert database.startswith("postgresql://") and "@postgres:5432/" in database
        assert env["GRADER_BROKER_URL"] == "redis://redis:6379/0"
    worker = services["worker"]
    assert worker["command"][0] == "worker" and "ports" not in worker and "container_name" not in worker
    assert set(worker["security_opt"]) == {"seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"}
    assert services["web"]["command"][:1] == ["serve"] and "--workers" in services["web"]["command"]
