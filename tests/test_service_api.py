"""The API as students and instructors use it (SQLite and PostgreSQL, a real Redis): contract, bad input, access."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import ServiceSettings
from tests.service_parts import INSTRUCTOR, TINY_NOTEBOOK, RedisServer, empty

NOTEBOOK_TYPE = "application/x-ipynb+json"


@pytest.fixture(scope="module")
def app_client(module_database_url: str, module_redis: RedisServer, module_assignments_dir: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app per database for the module; `service` empties it before each test."""
    settings = replace(ServiceSettings.from_env(), data_dir=tmp_path_factory.mktemp("var"),
                       database_url=module_database_url, broker_url=module_redis.url,
                       assignments_dir=module_assignments_dir, instructor_token=INSTRUCTOR, submissions_per_minute=3)
    app = create_app(settings, reconcile=False)
    # a host name the service answers, from a loopback address (/metrics answers only those without its token)
    with TestClient(app, base_url="http://localhost", client=("127.0.0.1", 50000)) as client:
        yield client
    app.state.services.store.engine.dispose()


@pytest.fixture
def service(app_client: TestClient, module_redis: RedisServer) -> TestClient:
    """The service as if new: no student, no submission, nothing queued (assignments and token stay)."""
    empty(app_client.app.state.services.store, keep=("assignments", "credentials"))
    module_redis.flush()
    return app_client


@pytest.fixture
def tokens(service: TestClient) -> dict[str, str]:
    answer = service.post("/api/roster", content="id,name,email\nann,Ann,a@x.org\nben,Ben,b@x.org\n",
                          headers=auth(INSTRUCTOR) | {"Content-Type": "text/csv"})
    assert answer.status_code == 201
    return {s["id"]: s["token"] for s in answer.json()["students"]}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(service: TestClient, token: str, blob: bytes = TINY_NOTEBOOK, name: str = "hw.ipynb",
           content_type: str = NOTEBOOK_TYPE, assignment: str = "tiny", **headers: str):
    return service.post(f"/api/assignments/{assignment}/submissions", headers=auth(token) | headers,
                        files={"file": (name, blob, content_type)})


def stored(service: TestClient) -> list[dict]:
    return service.get("/api/submissions", headers=auth(INSTRUCTOR)).json()["submissions"]


def test_a_student_submits_and_follows_the_submission(service: TestClient, tokens: dict[str, str]) -> None:
    answer = upload(service, tokens["ann"])
    assert answer.status_code == 202
    body = answer.json()
    assert set(body) == {"id", "status", "queue_position", "turn", "status_url"} and body["status"] == "queued"
    assert body["turn"] is None
    status = service.get(body["status_url"], headers=auth(tokens["ann"])).json()
    assert {k: status[k] for k in ("id", "assignment", "student", "status", "report")} == \
        {"id": body["id"], "assignment": "tiny", "student": "ann", "status": "queued", "report": None}
    assert set(status["phases"]) == {"received", "queued", "started", "finished"}
    assert status["phases"]["received"] and status["phases"]["started"] is None
    assert status["queue_position"] == 0 and "eta_seconds" in status
    listed = service.get("/api/submissions?assignment=tiny", headers=auth(tokens["ann"])).json()["submissions"]
    assert [s["id"] for s in listed] == [body["id"]] and "report" not in listed[0]


@pytest.mark.parametrize(("case", "expected"), [
    ("not a notebook", 422), ("too large", 413), ("too large, chunked", 413), ("wrong content type", 415),
    ("empty body", 400), ("path in filename", 400), ("broken multipart", 400), ("no file field", 400),
    ("not json", 415),
])
def test_bad_input_gets_a_clear_4xx_and_nothing_is_queued(service: TestClient, tokens: dict[str, str],
                                                          case: str, expected: int) -> None:
    token = tokens["ann"]
    boundary = "XyZ"
    requests = {
        "not a notebook": lambda: upload(service, token, b'{"cells": "nope"}'),
        "too large": lambda: upload(service, token, b" " * (5 * 2**20 + 10)),
        "too large, chunked": lambda: service.post(      # no Content-Length: the body is counted as it comes
            "/api/assignments/tiny/submissions", content=iter([
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.ipynb"\r\n\r\n'.encode(),
                *[b" " * 2**20] * 8]),
            headers=auth(token) | {"Content-Type": f"multipart/form-data; boundary={boundary}"}),
        "wrong content type": lambda: service.post("/api/assignments/tiny/submissions", content=TINY_NOTEBOOK,
                                                   headers=auth(token) | {"Content-Type": NOTEBOOK_TYPE}),
        "empty body": lambda: upload(service, token, b""),
        "path in filename": lambda: upload(service, token, name="../../etc/hw.ipynb"),
        "broken multipart": lambda: service.post(
            "/api/assignments/tiny/submissions", content=f"--{boundary}\r\nContent-Disposition: form-data; na",
            headers=auth(token) | {"Content-Type": f"multipart/form-data; boundary={boundary}"}),
        "no file field": lambda: service.post("/api/assignments/tiny/submissions", data={"x": "1"},
                                              files={"other": ("a.ipynb", TINY_NOTEBOOK)}, headers=auth(token)),
        "not json": lambda: upload(service, token, b"\x89PNG...", name="hw.png", content_type="image/png"),
    }
    answer = requests[case]()
    assert answer.status_code == expected, answer.text
    assert answer.json()["detail"]
    if expected == 413:  # the intake's own refusal: the size, the limit, and the cure
        assert "5 MB limit" in answer.json()["detail"] and "?" not in answer.json()["detail"], answer.text
    assert stored(service) == []
    assert upload(service, token).status_code == 202          # the service still answers


def test_the_intake_message_comes_in_the_callers_language(service: TestClient, tokens: dict[str, str]) -> None:
    english = upload(service, tokens["ann"], b"\xff\xfe", **{"Accept-Language": "en-GB,en;q=0.9"})
    japanese = upload(service, tokens["ann"], b"\xff\xfe", **{"Accept-Language": "ja,en;q=0.5"})
    korean = upload(service, tokens["ann"], b"\xff\xfe", **{"Accept-Language": "ko-KR,ko;q=0.9"})
    assert english.status_code == japanese.status_code == korean.status_code == 422
    assert "UTF-8" in english.json()["detail"] and "ファイル" in japanese.json()["detail"]
    assert korean.json()["detail"] not in (english.json()["detail"], japanese.json()["detail"])


def test_limits_unknown_assignment_and_rate(service: TestClient, tokens: dict[str, str]) -> None:
    assert upload(service, tokens["ann"], assignment="nope").status_code == 404
    for _ in range(3):
        assert upload(service, tokens["ann"]).status_code == 202
    limited = upload(service, tokens["ann"])
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert upload(service, tokens["ben"]).status_code == 202      # the limit is per student


def test_a_student_sees_only_their_own_submissions(service: TestClient, tokens: dict[str, str]) -> None:
    ann = upload(service, tokens["ann"]).json()["id"]
    ben = upload(service, tokens["ben"]).json()["id"]
    other = service.get(f"/api/submissions/{ann}", headers=auth(tokens["ben"]))
    missing = service.get("/api/submissions/0123456789abcdef0123456789abcdef", headers=auth(tokens["ben"]))
    assert other.status_code == missing.status_code == 404 and other.json() == missing.json()
    listed = service.get("/api/submissions?student=ann", headers=auth(tokens["ben"])).json()["submissions"]
    assert [s["id"] for s in listed] == [ben]
    everyone = service.get("/api/submissions?assignment=tiny", headers=auth(INSTRUCTOR)).json()["submissions"]
    assert {s["id"] for s in everyone} == {ann, ben}
    only_ann = service.get("/api/submissions?student=ann", headers=auth(INSTRUCTOR)).json()["submissions"]
    assert [s["id"] for s in only_ann] == [ann]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/assignments/tiny/results"), ("GET", "/api/assignments/tiny/results.csv"),
    ("POST", "/api/assignments/tiny/regrade"), ("POST", "/api/roster"), ("GET", "/api/assignments"),
    ("PUT", "/api/assignments/tiny/policy"),
])
def test_students_cannot_use_instructor_endpoints(service: TestClient, tokens: dict[str, str], method: str,
                                                  path: str) -> None:
    assert service.request(method, path, headers=auth(tokens["ann"])).status_code == 403
    assert service.request(method, path).status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer wrong-token", f"Basic {INSTRUCTOR}", INSTRUCTOR])
def test_a_missing_or_wrong_token_is_refused(service: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    answer = service.get("/api/submissions", headers=headers)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_in_the_url_is_not_accepted(service: TestClient, tokens: dict[str, str]) -> None:
    assert service.get(f"/api/submissions?token={tokens['ann']}").status_code == 401
    assert service.get(f"/api/submissions?access_token={tokens['ann']}").status_code == 401


def test_roster_upload_as_multipart_returns_new_tokens_once(service: TestClient, tokens: dict[str, str]) -> None:
    answer = service.post("/api/roster", headers=auth(INSTRUCTOR),
                          files={"file": ("roster.csv", b"id,name,email\nann,Ann,a@x.org\ncid,Cid,c@x.org\n",
                                          "text/csv")})
    assert answer.status_code == 201
    students = {s["id"]: s for s in answer.json()["students"]}
    assert "token" not in students["ann"] and students["cid"]["token"]
    assert set(students["cid"]) == {"id", "name", "email", "token"}
    bad = service.post("/api/roster", content="who,what\n1,2\n", headers=auth(INSTRUCTOR))
    assert bad.status_code == 400


def test_regrading_a_submission_that_is_not_finished_is_a_conflict(service: TestClient,
                                                                   tokens: dict[str, str]) -> None:
    submission = upload(service, tokens["ann"]).json()["id"]
    assert service.post(f"/api/submissions/{submission}/regrade", headers=auth(INSTRUCTOR)).status_code == 409
    assert service.post("/api/submissions/nope/regrade", headers=auth(INSTRUCTOR)).status_code == 404


def test_health_needs_a_live_worker_and_metrics_count_statuses(service: TestClient, tokens: dict[str, str]) -> None:
    upload(service, tokens["ann"])
    health = service.get("/healthz")
    assert health.status_code == 503 and health.json() | {"workers": 0} == \
        {"status": "unhealthy", "database": "ok", "broker": "ok", "workers": 0}
    metrics = service.get("/metrics").text
    assert 'grader_submissions{status="queued"} 1' in metrics
    assert "grader_queue_depth 1" in metrics and "grader_workers 0" in metrics
    assert "# TYPE grader_grading_seconds histogram" in metrics


def test_openapi_documents_the_contract(service: TestClient) -> None:
    paths = json.loads(service.get("/openapi.json").text)["paths"]
    assert {"/api/assignments/{assignment}/submissions", "/api/submissions/{submission_id}", "/api/submissions",
            "/api/roster", "/healthz", "/metrics"} <= set(paths)
    policy = paths["/api/assignments/{assignment}/policy"]["put"]["requestBody"]["content"]["application/json"]
    assert policy["schema"]["properties"]["policy"]["enum"] == ["latest", "best"]
    # the schema only: no page of the grader's origin loads a CDN's floating-version scripts
    assert service.get("/docs").status_code == service.get("/redoc").status_code == 404
