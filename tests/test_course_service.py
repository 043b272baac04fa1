"""A course over a term against `grader serve` with real Redis, a Celery worker and each database: dates on the
real clock (none is mocked) that the instructor moves as the term goes on (the due time, then the close, set to
the moment: the test waits for neither), on-time, late and refused uploads, an extension, best vs latest after the
penalty, a TA refused on dates and roster, and every change in the audit log with its actor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.service_parts import INSTRUCTOR, TINY_NOTEBOOK, Stack


def iso(at: datetime) -> str:
    return at.isoformat()


def upload(stack: Stack, token: str, course: str, assignment: str = "tiny", lang: str = "en"):
    with stack.client(token) as c:
        return c.post(f"/api/courses/{course}/offerings/{assignment}/submissions",
                      files={"file": ("t.ipynb", TINY_NOTEBOOK, "application/x-ipynb+json")},
                      headers={"Accept-Language": lang})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_course_term_with_dates_late_work_staff_and_its_audit_log(shared_stacks, kind: str) -> None:
    stack = shared_stacks(kind)
    course, p = f"ml-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:6]
    ann, ben, cho = (f"{name}{p}" for name in ("ann", "ben", "cho"))
    with stack.client(INSTRUCTOR) as admin:
        made = admin.post("/api/courses", json={"id": course, "title": "ML", "term": "2027 spring",
                                                "time_zone": "Asia/Tokyo"})
        assert made.status_code == 201, made.text
        kim = admin.post(f"/api/courses/{course}/staff", json={"id": "kim", "name": "Kim", "role": "instructor"})
        assert kim.status_code == 201 and kim.json()["token"]
    with stack.client(kim.json()["token"]) as instructor:
        tom = instructor.post(f"/api/courses/{course}/staff", json={"id": "tom", "name": "Tom", "role": "ta"})
        assert tom.status_code == 201
        roster = instructor.post(f"/api/courses/{course}/roster", headers={"Content-Type": "text/csv"},
                                 content=f"id,name,email\n{ann},Ann,\n{ben},Ben,\n{cho},Cho,\n")
        tokens = {s["id"]: s["token"] for s in roster.json()["students"]}
        start = datetime.now(UTC)
        due, close = start + timedelta(minutes=5), start + timedelta(minutes=8)
        dates = {"opens": iso(start - timedelta(minutes=1)), "due": iso(due), "late_until": iso(close),
                 "late_penalty_per_day": 0.25, "counts": "best"}
        put = instructor.put(f"/api/courses/{course}/offerings/tiny", json=dates)
        assert put.status_code == 200 and put.json()["counts"] == "best", put.text
        later = start + timedelta(minutes=10)
        assert instructor.put(f"/api/courses/{course}/offerings/tiny/extensions/{ben}",
                              json={"due": iso(later)}).status_code == 200
        hidden = instructor.put(f"/api/courses/{course}/offerings/backprop",
                                json={"opens": iso(start + timedelta(days=1))})
        assert hidden.status_code == 200

    on_time = upload(stack, tokens[ann], course)
    assert on_time.status_code == 202 and on_time.json()["late_days"] == 0, on_time.text
    assert upload(stack, tokens[ann], course, "backprop").status_code == 404      # before it opens: unseen
    with stack.client(tokens[ann]) as c:
        seen = [o["assignment"] for o in c.get(f"/api/courses/{course}/offerings").json()["offerings"]]
        assert seen == ["tiny"]
        assert c.get(f"/api/courses/{course}/offerings/tiny/results").status_code == 403    # staff only
    with stack.client(tom.json()["token"]) as ta:     # a TA: not dates, not the roster, not extensions
        assert ta.put(f"/api/courses/{course}/offerings/tiny", json=dates).status_code == 403
        assert ta.post(f"/api/courses/{course}/roster", content="id,name,email\nx,X,\n",
                       headers={"Content-Type": "text/csv"}).status_code == 403
        assert ta.put(f"/api/courses/{course}/offerings/tiny/extensions/{cho}", json={}).status_code == 403
        assert ta.get(f"/api/courses/{course}/audit").status_code == 403
        assert ta.get("/api/courses/default/offerings/tiny/results").status_code == 404   # not its course

    with stack.client(kim.json()["token"]) as instructor:       # the due time passes (after the on-time upload)
        dates |= {"due": iso(datetime.now(UTC))}
        assert instructor.put(f"/api/courses/{course}/offerings/tiny", json=dates).status_code == 200
    late = upload(stack, tokens[ann], course)
    assert late.status_code == 202 and late.json()["late_days"] == 1, late.text
    with stack.client(kim.json()["token"]) as instructor:       # and then the close
        dates |= {"late_until": iso(datetime.now(UTC))}
        assert instructor.put(f"/api/courses/{course}/offerings/tiny", json=dates).status_code == 200
    refused = upload(stack, tokens[cho], course, lang="ja")
    assert refused.status_code == 403 and "締め切" in refused.json()["detail"], refused.text
    assert "JST" in refused.json()["detail"]
    extended = upload(stack, tokens[ben], course)
    assert extended.status_code == 202 and extended.json()["late_days"] == 0

    finals = stack.wait_finished(INSTRUCTOR, [on_time.json()["id"], late.json()["id"], extended.json()["id"]], 240)
    raw = finals[late.json()["id"]]["report"]["score"]
    with stack.client(tom.json()["token"]) as ta:
        rows = {r["student"]: r for r in ta.get(f"/api/courses/{course}/offerings/tiny/results").json()["results"]}
        assert rows[ann]["submission"] == on_time.json()["id"]          # best: on time beats late after its penalty
        assert rows[cho]["status"] == "no submission" and rows[cho]["score"] is None
        assert ta.put(f"/api/courses/{course}/submissions/{late.json()['id']}/manual",
                      json={"score": 1, "comment": "ok"}).status_code == 200
        assert ta.post(f"/api/courses/{course}/submissions/{late.json()['id']}/regrade").status_code == 202
    with stack.client(kim.json()["token"]) as instructor:
        assert instructor.put(f"/api/courses/{course}/offerings/tiny", json=dates | {"counts": "latest"}).is_success
        rows = {r["student"]: r for r in instructor.get(f"/api/courses/{course}/offerings/tiny/results")
                .json()["results"]}
        mine = rows[ann]
        assert (mine["submission"], mine["late_days"], mine["raw_score"]) == (late.json()["id"], 1, raw)
        assert mine["score"] == max(0.0, raw - 0.25 * mine["max_score"]) and mine["manual_score"] == 1
        csv = instructor.get(f"/api/courses/{course}/offerings/tiny/results.csv").text.splitlines()
        assert "raw_score,late_days,penalty" in csv[0] and len(csv) == 4
        log = instructor.get(f"/api/courses/{course}/audit").json()["entries"]
    seen = {(e["actor"], e["action"]) for e in log}
    assert {("admin", "course"), ("admin", "staff"), ("instructor:kim", "staff"), ("instructor:kim", "roster"),
            ("instructor:kim", "dates"), ("instructor:kim", "extension"), ("ta:tom", "manual_grade"),
            ("ta:tom", "regrade")} <= seen
    policy = next(e for e in log if e["action"] == "dates" and e["after"]["counts"] == "latest")
    assert policy["before"]["counts"] == "best"
    with stack.client(INSTRUCTOR) as admin:       # today's routes still answer for course `default`
        assert admin.get("/api/assignments/tiny/results").status_code == 200
        assert ann not in {r["student"] for r in admin.get("/api/assignments/tiny/results").json()["results"]}
