"""Dates and late work on a student's pages, in a real browser (Playwright driving Debian's Chromium) against a
real service stack: the due time and the close in the course's time zone, each attempt's late days and
penalty, and a clear refusal after the close (dates on the real clock; the instructor sets the close to the
moment rather than the test waiting for it); a second course's offering opened from 'my courses', its upload
and late result, and no such page for a student not in that course."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tests.conftest import SHARED_EXAMPLES, require_module
from tests.service_parts import Stack, submit
from tests.web_parts import INSTRUCTOR, browser, new_page, screenshot, sign_in, stack, wait_graded  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Browser

expect = require_module("playwright.sync_api", "`make install` installs the dev extra's playwright").expect
WRONG_RELU = SHARED_EXAMPLES / "07_relu_backward_wrong_mask.ipynb"


def test_a_student_sees_their_dates_a_late_attempts_penalty_and_the_refusal_after_the_close(
        browser: Browser, stack: Stack) -> None:  # noqa: F811
    tokens = stack.roster("ann")
    start = datetime.now(UTC)
    dates = {"opens": (start - timedelta(days=1)).isoformat(), "due": (start - timedelta(hours=1)).isoformat(),
             "late_until": (start + timedelta(hours=1)).isoformat(), "late_penalty_per_day": 0.1}
    with stack.client(INSTRUCTOR) as admin:
        assert admin.put("/api/courses/default/offerings/backprop", json=dates).status_code == 200
    with stack.client(tokens["ann"]) as ann:
        late = submit(ann, "backprop", "late.ipynb", WRONG_RELU.read_bytes())
    context, page = new_page(browser, stack)
    sign_in(page, tokens["ann"])
    page.goto("/assignments/backprop")
    expect(page.locator("#due")).to_contain_text("10% of the maximum off per started day")
    expect(page.locator("#closes")).to_contain_text("JST")   # Asia/Tokyo, the course's time zone
    with stack.client(INSTRUCTOR) as admin:                 # the close comes
        closed = admin.put("/api/courses/default/offerings/backprop", json=dates | {
            "late_until": datetime.now(UTC).isoformat()})
        assert closed.status_code == 200
    page.reload()
    expect(page.locator("#due")).to_have_count(0)          # closed: only the close is said
    page.get_by_label("Notebook file (.ipynb)").set_input_files(str(WRONG_RELU))
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#upload-message")).to_contain_text("Submissions closed at")
    expect(page.locator("#upload-message")).to_contain_text("nothing was stored")
    report = wait_graded(stack, tokens["ann"], late)["report"]
    page.reload()
    assert page.locator("#history tbody tr").count() == 1
    counted = max(0.0, report["score"] - 0.1 * report["max_score"])
    expect(page.locator("#history tbody tr .lateness")).to_have_text(
        f"1 d late: −{report['score'] - counted:g}, counts {counted:g}")
    screenshot(page, "late_attempt")
    context.close()


def test_a_student_opens_a_second_courses_offering_from_their_courses_uploads_and_sees_the_result_late(
        browser: Browser, stack: Stack) -> None:  # noqa: F811
    start = datetime.now(UTC)
    with stack.client(INSTRUCTOR) as admin:
        assert admin.post("/api/courses", json={"id": "dl-2027", "title": "Deep learning"}).status_code == 201
        assert admin.put("/api/courses/dl-2027/offerings/backprop", json={
            "opens": (start - timedelta(days=2)).isoformat(), "due": (start - timedelta(hours=1)).isoformat(),
            "late_until": (start + timedelta(days=1)).isoformat(), "late_penalty_per_day": 0.1}).status_code == 200
        roster = admin.post("/api/courses/dl-2027/roster", headers={"Content-Type": "text/csv"},
                            content="id,name,email\nmia,Mia Mori,\n")
    mia = roster.json()["students"][0]["token"]
    outsider = stack.roster("bo")["bo"]               # in course default only
    context, page = new_page(browser, stack)
    sign_in(page, mia)
    page.goto("/courses")
    page.locator("#dl-2027-backprop").get_by_role("link").click()
    page.wait_for_url("**/courses/dl-2027/assignments/backprop")
    expect(page.locator("#due")).to_contain_text("10% of the maximum off per started day")
    page.get_by_label("Notebook file (.ipynb)").set_input_files(str(WRONG_RELU))
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url("**/submissions/*")
    submission = page.url.rsplit("/", 1)[1]
    report = wait_graded(stack, mia, submission)["report"]
    counted = max(0.0, report["score"] - 0.1 * report["max_score"])
    expect(page.locator("#lateness")).to_have_text(f"1 d late: −{report['score'] - counted:g}, counts {counted:g}")
    screenshot(page, "second_course_result")
    page.locator("#offering-link").click()
    page.wait_for_url("**/courses/dl-2027/assignments/backprop")
    expect(page.locator("#history tbody tr .lateness")).to_contain_text("1 d late")
    with stack.client(INSTRUCTOR) as admin:
        [row] = admin.get("/api/courses/dl-2027/offerings/backprop/results").json()["results"]
    assert (row["student"], row["submission"], row["late_days"]) == ("mia", submission, 1)
    with stack.client(INSTRUCTOR) as admin:      # not open yet, and not shown before: no such page
        assert admin.put("/api/courses/dl-2027/offerings/backprop",
                         json={"opens": (start + timedelta(days=1)).isoformat()}).status_code == 200
    assert page.goto("/courses/dl-2027/assignments/backprop").status == 404
    context.close()
    context, page = new_page(browser, stack)
    sign_in(page, outsider)
    assert page.goto("/courses/dl-2027/assignments/backprop").status == 404
    assert page.goto("/courses").ok and page.locator("#course-dl-2027").count() == 0
    context.close()
