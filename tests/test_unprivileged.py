"""The sandbox cases once more, run by a throw-away unprivileged user: no cgroups, no UID switch.

Only root can create that user, so elsewhere this is skipped (the suite is then already running
unprivileged). The user cannot read the grader's interpreter when it lives under /root, so it
runs the staged runtime (grader/sandbox/runtime.py), which is world-readable, with the virtualenv's
packages and the repository on PYTHONPATH.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.sandbox import runtime
from tests.conftest import REPO

CASES = ["tests/test_hardening.py::test_sandbox_runs_as_its_own_host_user_and_cannot_starve_the_hosts_inotify",
         "tests/test_syscall_filter.py::test_each_denied_syscall_returns_eperm_inside_and_keyrings_stay_untouched",
         "tests/test_hardening.py::test_writes_beyond_the_scratch_space_fail_and_leave_the_host_as_it_was",
         "tests/test_hardening.py::test_nothing_inside_names_host_paths",
         "tests/test_adversarial.py::test_solution_gets_full_marks_quickly"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can create the throw-away user; this run is unprivileged")
@pytest.mark.skipif(shutil.which("useradd") is None, reason="useradd (passwd package) is not installed")
def test_sandbox_cases_pass_as_a_throw_away_unprivileged_user(settings):
    name = f"nngt{secrets.token_hex(3)}"
    base = Path(tempfile.mkdtemp(prefix="nn-grader-user-", dir="/var/tmp"))
    home = base / "home"
    os.chmod(base, 0o755)
    created = subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin",
                              "--no-user-group", "--gid", "65534", name], capture_output=True, text=True)
    if created.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"cannot create a throw-away user: {created.stderr.strip()}")
    try:
        for folder in (home, base / "sandbox"):  # the staged runtime outside home: nothing inside names home
            folder.mkdir()
            shutil.chown(folder, name)
        staged, _ = runtime.staged(settings.sandbox_dir)
        python = staged / "python" / "bin" / Path(os.path.realpath(sys.executable)).name
        site = next(p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix))
        env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": f"{REPO}:{site}", "LD_LIBRARY_PATH": str(staged / "python" / "lib"),
               "GRADER_CACHE_DIR": str(home / "cache"), "GRADER_SANDBOX_DIR": str(base / "sandbox")}
        result = subprocess.run(["setpriv", "--reuid", name, "--regid", "65534", "--clear-groups", "--",
                                 str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *CASES],
                                cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-1000:]
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
