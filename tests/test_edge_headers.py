"""What every answer of a real `grader serve` carries, and whom it answers: only the allowed host names (no
DNS rebinding into `Location` or `status_url`), a Content-Security-Policy on every HTML page, `nosniff` and
`no-store` on every answer (reports and pages of a report included), and no API page loading a CDN's
scripts. The routes are enumerated from the app: a new page is checked by itself."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.service_parts import INSTRUCTOR, TINY_NOTEBOOK, Stack, app_routes, submit

COOKIE = "grader_session"


@contextmanager
def page_client(stack: Stack, token: str | None) -> Iterator[httpx.Client]:
    """A browser's view of the pages: the session cookie (Secure, so httpx would not send it over http) by hand."""
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        yield signed_in(client, token)


def signed_in(client: httpx.Client, token: str | None) -> httpx.Client:
    form = client.get("/signin")
    client.headers["Cookie"] = f"{COOKIE}={form.cookies[COOKIE]}"
    if token:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        signed = client.post("/signin", data={"token": token, "csrf_token": csrf})
        assert signed.status_code == 303, signed.text
        client.headers["Cookie"] = f"{COOKIE}={signed.cookies[COOKIE]}"
    return client


@pytest.fixture(scope="module")
def graded(shared_stacks) -> tuple[Stack, dict[str, str], str]:
    """The shared stack, a student's token and a graded submission of theirs (its report pages exist)."""
    stack = shared_stacks("sqlite")
    tokens = stack.roster("hedda")
    with stack.client(tokens["hedda"]) as client:
        submission = submit(client, "tiny", "hw.ipynb", TINY_NOTEBOOK)
    stack.wait_finished(tokens["hedda"], [submission], 120)
    return stack, tokens, submission


def get_paths(stack: Stack, submission: str) -> list[str]:
    """Every GET path of the app, its parameters filled with the graded submission and its assignment."""
    values = {"submission_id": submission, "name": "tiny", "assignment": "tiny", "kind": "gradient"}
    return sorted({re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "app.css"), path)
                   for method, path, _ in app_routes(stack) if method == "GET"})


@pytest.mark.parametrize("who", ["anonymous", "student", "instructor"])
def test_every_answer_is_nosniff_no_store_and_every_html_page_has_a_csp(graded, who: str) -> None:
    stack, tokens, submission = graded
    token = {"anonymous": None, "student": tokens["hedda"], "instructor": INSTRUCTOR}[who]
    problems, pages = [], 0
    with page_client(stack, token) as client:
        for path in get_paths(stack, submission):
            for answer in (client.get(path), client.get(path, headers={"Authorization": f"Bearer {token}"})):
                headers = answer.headers
                if headers.get("x-content-type-options") != "nosniff" or "no-store" not in headers.get(
                        "cache-control", ""):
                    problems.append(f"{path} {answer.status_code}: {dict(headers)}")
                if headers.get("content-type", "").startswith("text/html"):
                    pages += 1
                    csp = headers.get("content-security-policy", "")
                    if "default-src 'none'" not in csp or "http" in csp or "script-src 'unsafe" in csp:
                        problems.append(f"{path} {answer.status_code}: CSP {csp!r}")
    assert problems == [] and pages > 0


def test_the_report_itself_is_private_and_not_sniffed(graded) -> None:
    stack, tokens, submission = graded
    with stack.client(tokens["hedda"]) as client:
        report = client.get(f"/api/submissions/{submission}")
    assert report.json()["report"] and report.headers["x-content-type-options"] == "nosniff"
    assert report.headers["cache-control"] == "no-store"


def test_the_api_is_described_by_its_schema_alone(graded) -> None:
    stack, _, _ = graded
    assert httpx.get(f"{stack.url}/openapi.json").json()["paths"]
    for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        answer = httpx.get(f"{stack.url}{page}")
        assert answer.status_code == 404 and "cdn" not in answer.text.lower()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "", "[::2]"])
def test_a_host_name_not_allowed_is_answered_400_and_never_reflected(graded, host: str) -> None:
    stack, tokens, _ = graded
    with stack.client(tokens["hedda"]) as client:
        status = client.get("/api/submissions", headers={"Host": host})
        upload = client.post("/api/assignments/tiny/submissions", headers={"Host": host},
                             files={"file": ("hw.ipynb", TINY_NOTEBOOK, "application/x-ipynb+json")})
        page = httpx.get(f"{stack.url}/signin", headers={"Host": host})
    for answer in (status, upload, page):
        assert answer.status_code == 400 and "evil" not in answer.text and "location" not in answer.headers


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_bind_address_and_localhost_are_answered_and_written_into_links(graded, host: str) -> None:
    stack, tokens, _ = graded
    with stack.client(tokens["hedda"]) as client:
        answer = client.post("/api/assignments/tiny/submissions", headers={"Host": f"{host}:{stack.port}"},
                             files={"file": ("hw.ipynb", TINY_NOTEBOOK, "application/x-ipynb+json")})
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"].startswith(f"http://{host}:{stack.port}/api/submissions/")
    assert answer.json()["status_url"] == answer.headers["location"]


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("GRADER_ALLOWED_HOSTS", "grader.example.org:8000", "is not a host name"),
    ("GRADER_ALLOWED_HOSTS", "http://grader.example.org", "is not a host name"),
    ("GRADER_MAX_BODY_BYTES", "lots", "must be a number"),
    ("GRADER_MAX_BODY_BYTES", "10", "must be at least 1024"),
    ("GRADER_INTAKE_SECONDS", "0", "must be at least 0.5"),
])
def test_a_malformed_edge_setting_stops_grader_serve_with_its_name(graded, tmp_path, variable: str, value: str,
                                                                   says: str) -> None:
    stack, _, _ = graded
    env = {**stack.env, "GRADER_DATA_DIR": str(tmp_path), variable: value}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "serve", "--workers", "0", "--no-demo", "--port", "1"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and variable in done.stderr and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
