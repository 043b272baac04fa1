"""Sessions, secrets and the edges, played as an attacker against one real `grader serve` for the module
(its own private redis-server and a worker it starts, on all interfaces so other loopback and host
addresses can call it): revocable sessions, malformed headers, token guessing, private files, control
characters in file names and CSV formulas, CSRF tokens kept out of URLs and logs, /metrics.

The rotation test restarts the API with a new instructor token, so it runs last.
"""

from __future__ import annotations

import csv
import io
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from service import api
from service.web import page_routes
from tests.service_parts import TINY_NOTEBOOK, Stack, make_assignments_dir, service_env, wait_until

PER_ADDRESS, TOTAL = 10, 25          # the guessing throttle's limits in this module
FORMULA = tuple("=+-@\t\r")
INSTRUCTOR_ROUTES = ("/instructor", "/metrics", "/api/roster", "/api/assignments/{assignment}/re",
                     "/api/assignments/{assignment}/p", "/api/submissions/{submission_id}/regrade", "/api/courses",
                     "/api/lti", "/staff")
NOTEBOOK_TYPE = "application/x-ipynb+json"


class Visitor:
    """A browser's view of the pages: the session cookie (Secure, so kept by hand over plain HTTP) and the
    CSRF token the last page showed."""

    def __init__(self, stack: Stack, address: str = "127.0.0.1") -> None:
        self.http = httpx.Client(base_url=stack.url, timeout=30, follow_redirects=False,
                                 transport=httpx.HTTPTransport(local_address=address))
        self.cookie, self.csrf = "", ""

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Cookie": f"grader_session={self.cookie}".encode(), **kwargs.pop("headers", {})}
        answer = self.http.request(method, path, headers=headers, **kwargs)
        if "grader_session" in answer.cookies:
            self.cookie = answer.cookies["grader_session"]
        if found := re.search(r'name="csrf_token" value="([^"]+)"', answer.text):
            self.csrf = found[1]
        return answer

    def sign_in(self, token: str) -> httpx.Response:
        self.request("GET", "/signin")
        return self.request("POST", "/signin", data={"csrf_token": self.csrf, "token": token})


def multipart(filename: str, blob: bytes, **fields: str) -> tuple[bytes, dict[str, str]]:
    """A multipart body made by hand, so the file name reaches the service byte for byte."""
    parts = [f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--B\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: {NOTEBOOK_TYPE}\r\n\r\n".encode() + blob + b"\r\n")
    return b"".join(parts) + b"--B--\r\n", {"Content-Type": "multipart/form-data; boundary=B"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`grader serve --workers 1 --host 0.0.0.0` with its own redis and a generated instructor token."""
    root = tmp_path_factory.mktemp("sessions")
    data, logs = root / "var", root / "logs"
    data.mkdir(mode=0o755)
    logs.mkdir()
    env = service_env(data, f"sqlite:///{data / 'grader.sqlite3'}", "", make_assignments_dir(root),
                      GRADER_ALLOWED_HOSTS=",".join(["127.0.0.1", "localhost", *_outside()]),
                      GRADER_FAILED_SIGN_INS_PER_MINUTE=str(PER_ADDRESS),
                      GRADER_FAILED_SIGN_INS_PER_MINUTE_TOTAL=str(TOTAL))
    for private in ("GRADER_BROKER_URL", "GRADER_INSTRUCTOR_TOKEN"):
        env.pop(private)
    stack = Stack(env, logs, host="0.0.0.0", serve_workers=1)
    try:
        stack.start_api(timeout=120)   # it starts its redis and a worker too, on a busy machine
        yield stack
    finally:
        stack.processes.stop(timeout=5)


@pytest.fixture(scope="module")
def instructor(service: Stack) -> str:
    found = re.search(r"instructor token \(shown once, keep it\): (\S+)", service.logs())
    assert found, service.logs()
    return found[1]


@pytest.fixture(scope="module")
def students(service: Stack, instructor: str) -> dict[str, str]:
    body = "id,name,email\n" + "".join(f"{i},Student {i},{i}@example.org\n" for i in ("ann", "bob", "cid"))
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {instructor}"}) as c:
        answer = c.post("/api/roster", content=body, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 201, answer.text
    return {s["id"]: s["token"] for s in answer.json()["students"]}


@pytest.fixture
def no_failures(service: Stack) -> Iterator[Callable[[], None]]:
    """The throttle's count emptied before and after (and when the test says), so it starts from a clean minute."""
    from service.models import SignInFailure

    def clear() -> None:
        with service.store().sessions.begin() as s:
            s.query(SignInFailure).delete()
    clear()
    yield clear
    clear()


def test_a_cookie_copied_before_sign_out_no_longer_signs_anyone_in(service: Stack, students: dict[str, str],
                                                                     no_failures) -> None:
    ann, other_device = Visitor(service), Visitor(service)
    assert ann.sign_in(students["ann"]).status_code == 303
    assert other_device.sign_in(students["ann"]).status_code == 303
    copied = ann.cookie
    assert ann.request("GET", "/assignments").status_code == 200
    assert ann.request("POST", "/signout", headers={"X-CSRF-Token": ann.csrf}).status_code == 303
    thief = Visitor(service)
    thief.cookie = copied
    replay = thief.request("GET", "/assignments")
    assert (replay.status_code, replay.headers["location"]) == (303, "/signin")   # before: 200, ann's page
    assert other_device.request("GET", "/assignments").status_code == 303        # every copy ends together
    assert ann.sign_in(students["ann"]).status_code == 303                      # and signing in again works
    assert ann.request("GET", "/assignments").status_code == 200


def _routes() -> list[tuple[str, str]]:
    """Every (method, path template) of the API and the pages; signing out last (it ends the session)."""
    def walk(router) -> Iterator[tuple[str, str]]:
        for route in router.routes:
            if hasattr(route, "original_router"):   # FastAPI's included router
                yield from walk(route.original_router)
            else:
                yield from ((m, route.path) for m in sorted(route.methods - {"HEAD"}))
    routes = {r for router in (*api.routers, page_routes.router) for r in walk(router)}
    return sorted(routes, key=lambda r: r[1] == "/signout")


def _malformed(valid_cookie: str) -> dict[str, list[bytes]]:
    """Non-ASCII, empty and oversize values of every header the service reads."""
    big = b"x" * 12_000
    return {
        "Cookie": ["grader_session={}".format(valid_cookie[:-4] + "é€ü").encode(), b"grader_session=",
                   b"grader_session=" + big, "lang=日本".encode() + b"; grader_session=" + valid_cookie.encode()],
        "X-CSRF-Token": ["é€ü".encode(), b"", big],
        "Authorization": ["Bearer é€ü".encode(), b"", b"Bearer " + big, "Bäsic x".encode()],
        "Accept-Language": ["日本語;q=é".encode(), b"", b"ja," * 4000],
        "Accept": ["application/json é".encode(), b"", big],
        "Content-Type": ["multipart/form-data; boundary=é".encode(), b"", b"multipart/form-data; boundary=" + big,
                         b"application/x-www-form-urlencoded; charset=\xff"],
        "Host": ["é€.example".encode(), b"", big],
    }


def test_no_malformed_header_on_any_route_answers_500(service: Stack, instructor: str, students: dict[str, str],
                                                      no_failures) -> None:
    body, headers = multipart("hw.ipynb", TINY_NOTEBOOK)
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {students['bob']}"}) as c:
        submission = c.post("/api/assignments/tiny/submissions", content=body, headers=headers).json()["id"]
    values = {"assignment": "tiny", "name": "tiny", "submission_id": submission, "kind": "loss", "course": "default",
              "student": "bob", "staff_id": "nobody"}
    requests, seen = 0, []
    users = {"student": Visitor(service), "instructor": Visitor(service)}
    users["student"].sign_in(students["bob"])
    users["instructor"].sign_in(instructor)
    tokens = {"student": students["bob"], "instructor": instructor}
    for method, template in _routes():
        who = "instructor" if template.startswith(INSTRUCTOR_ROUTES) else "student"   # past its access check
        user = users[who]
        path = re.sub(r"{(\w+)}", lambda m: values[m[1]], template).replace("/static/tiny", "/static/app.css")
        for header, bad_values in _malformed(user.cookie).items():
            for value in bad_values:
                base = {"Cookie": f"grader_session={user.cookie}".encode(), "X-CSRF-Token": user.csrf.encode(),
                        "Authorization": f"Bearer {tokens[who]}".encode()}
                answer = user.http.request(method, path, headers={**base, header: value})
                requests += 1
                if answer.status_code >= 500:
                    seen.append(f"{method} {path} {header}={value[:40]!r}: {answer.status_code}")
    assert requests > 750                 # 34 routes x 7 headers x 3-4 values
    assert seen == []                     # before: 500 on every page for a non-ASCII cookie MAC or CSRF token
    no_failures()                         # the wrong bearer tokens above were counted
    planted = Visitor(service)            # a planted cookie locks nobody out of signing in
    planted.sign_in(students["bob"])
    planted.cookie = planted.cookie[:-4] + "é€ü"
    assert planted.request("GET", "/signin").status_code == 200
    assert planted.sign_in(students["bob"]).status_code == 303


def test_token_guessing_is_throttled_per_address_and_overall_in_every_api_process(
        service: Stack, students: dict[str, str], no_failures, tmp_path: Path) -> None:
    second = Stack({**service.env, "GRADER_DATA_DIR": str(tmp_path / "var")}, tmp_path, host="0.0.0.0")
    try:
        second.start_api(timeout=120)      # a second API process on the same database
        no_failures()                      # the minute starts now
        guesser = Visitor(service)
        guesser.request("GET", "/signin")
        started = time.monotonic()
        answers = [guesser.request("POST", "/signin", data={"csrf_token": guesser.csrf, "token": f"guess-{i}"})
                   for i in range(200)]
        elapsed = time.monotonic() - started
        codes = [a.status_code for a in answers]
        assert codes.count(401) == PER_ADDRESS and codes.count(429) == 200 - PER_ADDRESS, codes  # before: 200 x 401
        assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
        # the page and the API share the count, and a throttled address's right token is not even tried
        with httpx.Client(base_url=second.url, headers={"Authorization": f"Bearer {students['cid']}"}) as c:
            assert c.get("/api/submissions").status_code == 429

        def guesses(address: str, url: str, n: int) -> list[int]:
            with httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address),
                              headers={"Authorization": "Bearer wrong"}) as c:
                return [c.get("/api/submissions").status_code for _ in range(n)]
        # per address, counted across both processes: 6 here and 6 there, the 11th is refused
        assert guesses("127.0.0.2", service.url, 6) + guesses("127.0.0.2", second.url, 6) == [401] * 10 + [429] * 2
        # overall: 10 + 10 + 5 more from a third address reach 25, and then every address is refused
        assert guesses("127.0.0.3", second.url, 6) == [401] * 5 + [429]
        assert guesses("127.0.0.4", service.url, 1) == [429]
    finally:
        second.processes.stop(timeout=5)
    print(f"200 wrong sign-ins in {elapsed:.2f} s: {codes.count(401)} tried, {codes.count(429)} refused untried")


def test_a_short_instructor_token_is_refused_at_start(service: Stack) -> None:
    for command in ("serve", "worker"):
        run = subprocess.run([sys.executable, "-m", "grader.cli", command], capture_output=True, text=True,
                             env={**service.env, "GRADER_INSTRUCTOR_TOKEN": "x" * 23}, timeout=60)
        assert run.returncode != 0
        assert "GRADER_INSTRUCTOR_TOKEN has 23 characters; it needs at least 24" in run.stderr


def _redis_commands() -> list[str]:
    commands = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"redis-server" in argv[0]:
            commands.append(b" ".join(argv).decode(errors="replace"))
    return commands


def test_the_data_directory_and_the_private_broker_are_this_users_alone(service: Stack, students) -> None:
    data = Path(service.env["GRADER_DATA_DIR"])
    wait_until(lambda: (data / "grader.sqlite3-wal").exists(), 10, "the SQLite write-ahead log")
    assert stat.S_IMODE(data.stat().st_mode) == 0o700            # before: 0755 (this test made it so)
    files = [p for p in data.rglob("*") if p.is_file()]
    modes = {p.relative_to(data).as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert {"grader.sqlite3", "grader.sqlite3-wal", "grader.sqlite3-shm",     # the session key is in the database
            "redis/redis.conf"} <= set(modes)
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in files), modes   # before: 0644
    dirs = [p for p in data.rglob("*") if p.is_dir()]
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in dirs)
    password = (data / "redis" / "redis.conf").read_text().split()[1]
    assert len(password) >= 32
    port = int(re.search(r"broker: redis://:\*\*\*@127\.0\.0\.1:(\d+)", service.logs())[1])
    mine = [c for c in _redis_commands() if f":{port}" in c]
    assert mine and all(password not in c for c in mine)           # `ps` shows no password
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=port).ping()                              # before: any local user could read the queue
    assert redis.Redis(port=port, password=password).ping()
    assert password not in service.logs()


def test_file_names_with_control_characters_or_over_255_bytes_are_refused(service: Stack, students) -> None:
    hostile = ["\x1b]0;pwned\x07.ipynb", "homework\u202ebynpi.ipynb", "a\u2066b.ipynb", "x" * 250 + ".ipynb",
               "é" * 125 + ".ipynb"]
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {students['cid']}"}) as c:
        before = len(c.get("/api/submissions").json()["submissions"])
        for name in hostile:
            body, headers = multipart(name, TINY_NOTEBOOK)
            answer = c.post("/api/assignments/tiny/submissions", content=body, headers=headers)
            assert answer.status_code == 400, (name, answer.text)   # before: 202, echoed into reports and CSV
            assert "file name" in answer.json()["detail"]
        assert len(c.get("/api/submissions").json()["submissions"]) == before
        body, headers = multipart("x" * 249 + ".ipynb", TINY_NOTEBOOK)          # 255 bytes: a legal name
        assert c.post("/api/assignments/tiny/submissions", content=body, headers=headers).status_code == 202
    cid = Visitor(service)
    cid.sign_in(students["cid"])
    cid.request("GET", "/assignments/tiny")
    body, headers = multipart("\x1b[2J.ipynb", TINY_NOTEBOOK, csrf_token=cid.csrf)
    page = cid.request("POST", "/assignments/tiny/submit", content=body, headers=headers)
    assert page.status_code == 400 and "control or text-direction" in page.text


def test_every_csv_cell_roster_names_and_comments_included_is_neutralised(service: Stack, instructor: str) -> None:
    evil = '=HYPERLINK("http://evil.example","open")'
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {instructor}"}) as c:
        line = io.StringIO()
        csv.writer(line).writerows([["id", "name", "email"], ["+dan", evil, "@x"]])
        roster = c.post("/api/roster", content=line.getvalue(), headers={"Content-Type": "text/csv"})
        assert roster.status_code == 201, roster.text
        token = roster.json()["students"][0]["token"]
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {token}"}) as c:
        body, headers = multipart("-2+3.ipynb", TINY_NOTEBOOK)
        submission = c.post("/api/assignments/tiny/submissions", content=body, headers=headers).json()["id"]
    service.wait_finished(token, [submission], 120)
    teacher = Visitor(service)
    teacher.sign_in(instructor)
    teacher.request("GET", f"/instructor/submissions/{submission}")
    saved = teacher.request("POST", f"/instructor/submissions/{submission}/manual",
                            data={"csrf_token": teacher.csrf, "score": "0", "comment": "@SUM(A1:A9) copied"})
    assert saved.status_code == 303, saved.text
    gradebook = teacher.request("GET", "/instructor/assignments/tiny/gradebook.csv").text
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {instructor}"}) as c:
        results = c.get("/api/assignments/tiny/results.csv").text
    for text in (gradebook, results):
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert "'+dan" in cells and f"'{evil}" in cells and "'-2+3.ipynb" in cells   # before: +dan, =HYPERLINK…
        assert not [cell for cell in cells if cell.startswith(FORMULA)]
    dan = next(row for row in csv.reader(io.StringIO(gradebook)) if row[0] == "'+dan")
    assert "'@SUM(A1:A9) copied" in dan


def test_csrf_tokens_stay_out_of_urls_and_tokens_out_of_the_services_files(service: Stack, instructor: str,
                                                                            students: dict[str, str]) -> None:
    ann, teacher = Visitor(service), Visitor(service)
    ann.sign_in(students["ann"])
    teacher.sign_in(instructor)
    pages = [ann.request("GET", "/assignments/tiny").text, teacher.request("GET", "/instructor").text]
    for html in pages:
        assert not re.findall(r'(?:action|href)="[^"]*csrf', html)        # before: ?csrf_token=… in two forms
    body, headers = multipart("hw.ipynb", TINY_NOTEBOOK, csrf_token=ann.csrf)   # a form posted without script
    assert ann.request("POST", "/assignments/tiny/submit", content=body, headers=headers).status_code == 303
    listed = len(httpx.get(f"{service.url}/api/submissions", headers={"Authorization": f"Bearer {students['ann']}"})
                 .json()["submissions"])
    for refused, kind in (multipart("hw.ipynb", TINY_NOTEBOOK), multipart("hw.ipynb", TINY_NOTEBOOK, csrf_token="x")):
        assert ann.request("POST", "/assignments/tiny/submit", content=refused, headers=kind).status_code == 403
    assert len(httpx.get(f"{service.url}/api/submissions", headers={"Authorization": f"Bearer {students['ann']}"})
               .json()["submissions"]) == listed
    roster, roster_headers = multipart("r.csv", b"id,name,email\neve,Eve,e@x\n", csrf_token=teacher.csrf)
    imported = teacher.request("POST", "/instructor/roster", content=roster, headers=roster_headers)
    assert imported.status_code == 200 and 'id="tokens"' in imported.text
    # any other form posted as multipart is checked on its body too
    lang, lang_headers = multipart("x.txt", b"", lang="ja", next="/")
    assert ann.request("POST", "/lang", content=lang, headers=lang_headers).status_code == 403
    lang, lang_headers = multipart("x.txt", b"", lang="ja", next="/", csrf_token=ann.csrf)
    assert ann.request("POST", "/lang", content=lang, headers=lang_headers).status_code == 303
    unsigned, unsigned_headers = multipart("r.csv", b"id,name,email\nfay,Fay,f@x\n")
    assert teacher.request("POST", "/instructor/roster", content=unsigned, headers=unsigned_headers).status_code == 403
    assert ann.csrf not in service.logs() and teacher.csrf not in service.logs()    # nor in the access log
    bare, bare_headers = multipart("hw.ipynb", TINY_NOTEBOOK)
    query = ann.request("POST", f"/assignments/tiny/submit?csrf_token={ann.csrf}", content=bare, headers=bare_headers)
    assert query.status_code == 403                                       # the URL is no place for it any more
    kept = [p.read_bytes() for p in Path(service.env["GRADER_DATA_DIR"]).rglob("*") if p.is_file()]
    for secret in (instructor, *students.values(), ann.csrf):
        assert not [b for b in kept if secret.encode() in b]


def _outside() -> list[str]:
    """This machine's first IPv4 address that is not loopback (none: empty)."""
    host = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in host if "." in a and not a.startswith("127.")][:1]


def test_metrics_answer_loopback_only_without_a_token(service: Stack) -> None:
    assert httpx.get(f"{service.url}/metrics").status_code == 200
    if not _outside():
        pytest.skip("this machine has no non-loopback IPv4 address to call from")
    outside = _outside()[0]
    answer = httpx.get(f"http://{outside}:{service.port}/metrics")
    assert answer.status_code == 404                                      # before: 200 to anyone who can connect
    assert httpx.get(f"http://{outside}:{service.port}/healthz").status_code in (200, 503)


def test_a_new_instructor_token_ends_old_sessions_and_a_metrics_token_guards_metrics(
        service: Stack, instructor: str) -> None:
    teacher = Visitor(service)
    assert teacher.sign_in(instructor).status_code == 303
    assert teacher.request("GET", "/instructor").status_code == 200
    rotated = "rotated-instructor-token-0123456789"
    service.processes.stop(timeout=10)
    service.env.update(GRADER_INSTRUCTOR_TOKEN=rotated, GRADER_METRICS_TOKEN="metrics-token-for-this-test-only")
    service.start_api(timeout=120)
    assert teacher.request("GET", "/instructor").status_code == 303       # before: 200 for up to 12 h
    with httpx.Client(base_url=service.url) as c:
        assert c.get("/api/assignments", headers={"Authorization": f"Bearer {instructor}"}).status_code == 401
        assert c.get("/api/assignments", headers={"Authorization": f"Bearer {rotated}"}).status_code == 200
        assert c.get("/metrics").status_code == 401
        scrape = c.get("/metrics", headers={"Authorization": "Bearer metrics-token-for-this-test-only"})
        assert scrape.status_code == 200 and "grader_queue_depth" in scrape.text
    assert Visitor(service).sign_in(rotated).status_code == 303

