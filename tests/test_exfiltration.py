"""Hostile code looking for a way out: nothing on the network answers it (Redis, HTTP), nothing of the
grader is readable (files, the environment), and the channel it reports through is shown to work.
"""

from __future__ import annotations

import http.server
import secrets
import threading
import urllib.request

import pytest

from grader import data
from tests import hostile as h
from tests.conftest import require_service

pytestmark = pytest.mark.usefixtures("sandboxed")
BASE = h.BASE_SECONDS


EXFIL = """
found = []
{probe}
raise RuntimeError("EXFIL leaks=%d %s" % (sum("LEAKED" in f for f in found), "; ".join(found)))
"""


def _grade_exfil(probe: str, fast, settings) -> h.Graded:
    code = EXFIL.format(probe=probe.strip("\n")).replace("LEAKED", "LE\" \"AKED")  # not in the source itself
    g = h.grade(h.in_numerical_grad(code), fast, settings)
    g.assert_full_except("numerical_grad")
    assert "EXFIL leaks=0 " in g.json, g.messages("numerical_grad")  # the channel works, and nothing leaked
    assert "LEAKED" not in g.json
    g.assert_within(BASE)
    return g


def test_redis_is_unreachable(fast, settings):
    require_service("Redis", "127.0.0.1", 6379)
    key, value = f"adversarial:{secrets.token_hex(4)}", secrets.token_hex(8)
    assert h.redis("SET", key, value) == b"+OK\r\n"
    try:
        probe = """
import socket
for host in ("127.0.0.1", "localhost", "10.0.2.2", "172.17.0.1"):
    try:
        with socket.create_connection((host, 6379), timeout=1) as conn:
            conn.sendall(b"*1\\r\\n$8\\r\\nFLUSHALL\\r\\n")
            found.append("LEAKED " + repr(conn.recv(100)))
    except Exception as exc:
        found.append(type(exc).__name__)
"""
        g = _grade_exfil(probe, fast, settings)
        assert "OSError" in g.json or "ConnectionRefusedError" in g.json or "gaierror" in g.json
        assert h.redis("GET", key) == f"${len(value)}\r\n{value}\r\n".encode()
    finally:
        h.redis("DEL", key)


def test_http_is_unreachable(fast, settings):
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        assert urllib.request.urlopen(url + "control", timeout=5).read() == b"hello"  # it does answer
        probe = f"""
import urllib.request
for url in ({url + 'exfil'!r}, "http://example.com/", "http://1.1.1.1/"):
    try:
        found.append("LEAKED " + repr(urllib.request.urlopen(url, timeout=1).read(20)))
    except Exception as exc:
        found.append(type(exc).__name__)
"""
        _grade_exfil(probe, fast, settings)
        assert seen == ["/control"]
    finally:
        server.shutdown()
        server.server_close()


def test_files_outside_the_sandbox_are_not_readable(fast, settings):
    cache = data.train_files(settings)["x_train"].parent
    paths = ["/etc/passwd", "/etc/shadow", str(h.REPO / "grader" / "pipeline.py"),
             str(h.REPO / "reference" / "functions.py"), str(h.REPO / "assignments" / "backprop" / "assignment.toml"),
             str(cache / "x_test.npy"), str(cache / "t_test.npy"), f"/proc/1/root{h.REPO}/grader/pipeline.py",
             "/proc/1/cwd/grader/pipeline.py", "/proc/1/root/etc/passwd"]
    probe = f"""
import os
for path in {paths!r}:
    try:
        with open(path, "rb") as fh:
            found.append("LEAKED " + path + repr(fh.read(10)))
    except Exception as exc:
        found.append(type(exc).__name__[:8])
for folder in ("/", "/data", "/opt", "/opt/harness", "/opt/runtime", "/tmp", "/root"):
    found += ["LEAKED " + n for n in (os.listdir(folder) if os.path.isdir(folder) else [])
              if n in ("work", "home", "etc") or "test" in n]
for module in ("reference", "grader", "grader.pipeline", "tests"):
    try:
        __import__(module)
        found.append("LEAKED import " + module)
    except Exception as exc:
        found.append(type(exc).__name__[:8])
"""
    g = _grade_exfil(probe, fast, settings)
    assert "root:" not in g.json and "NUMPY" not in g.json


def test_environment_of_the_grader_is_not_visible_but_its_blas_choice(fast, settings, monkeypatch):
    secret = secrets.token_hex(16)
    monkeypatch.setenv("GRADER_TEST_SECRET", secret)
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "524288")   # the student's code computes as the reference does here
    probe = """
import os
if "GRADER_TEST_SECRET" in os.environ:
    found.append("LEAKED environ " + os.environ["GRADER_TEST_SECRET"])
for pid in ["self", "1", str(os.getppid())] + [p for p in os.listdir("/proc") if p.isdigit()]:
    for name in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as fh:
                text = fh.read().decode(errors="replace")
        except Exception:
            continue
        if "GRADER_TEST_SECRET" in text:
            found.append("LEAKED /proc/" + pid + "/" + name + text[text.index("GRADER_TEST_SECRET"):][:60])
found.append("environ=" + ",".join(sorted(os.environ)))
try:
    with open("/proc/1/environ", "rb") as fh:
        init = fh.read()
    if init:  # the README promises nothing there
        found.append("LEAKED /proc/1/environ " + repr(init[:60]))
except OSError:
    pass
"""
    g = _grade_exfil(probe, fast, settings)
    assert secret not in g.json and "GRADER_TEST_SECRET" not in g.json
    assert "OPENBLAS_L2_SIZE" in g.json
