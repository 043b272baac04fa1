"""Course staff on the pages, in a real browser (Playwright driving Debian's Chromium) against a real service
stack: an instructor signs in with their own staff token, switches course, sets dates and reads what they
mean, grants an extension and finds it in the audit log under their name; a TA sees no dates or extension
form and a forged post is refused; a student sees their courses with their own dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import require_module
from tests.service_parts import Stack
from tests.web_parts import INSTRUCTOR, browser, new_page, screenshot, sign_in, stack  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

expect = require_module("playwright.sync_api", "`make install` installs the dev extra's playwright").expect
ML, NN = "ml-2027", "nn-2027"
OFFERING = f"/staff/{ML}/offerings/backprop"


@pytest.fixture(scope="module")
def course(stack: Stack) -> dict[str, str]:  # noqa: F811
    """Two courses offering backprop; Ito instructs both (a token each), Tan assists in ML; Ken studies ML.
    The tokens by who they are."""
    tokens = {}
    with stack.client(INSTRUCTOR) as admin:
        for cid, title in ((NN, "Neural networks"), (ML, "Machine learning")):
            assert admin.post("/api/courses", json={"id": cid, "title": title, "term": "2027"}).status_code == 201
            ito = admin.post(f"/api/courses/{cid}/staff", json={"id": "ito", "name": "Ito Aoi", "role": "instructor"})
            tokens[f"ito-{cid}"] = ito.json()["token"]
            assert admin.put(f"/api/courses/{cid}/offerings/backprop", json={}).status_code == 200
        tokens["tan"] = admin.post(f"/api/courses/{ML}/staff",
                                   json={"id": "tan", "name": "Tan Mei", "role": "ta"}).json()["token"]
        roster = admin.post(f"/api/courses/{ML}/roster", headers={"Content-Type": "text/csv"},
                            content="id,name,email\nken,Ken Sato,\n")
        tokens["ken"] = roster.json()["students"][0]["token"]
    return tokens


def test_an_instructor_switches_course_sets_dates_reads_their_consequences_and_finds_an_extension_audited(
        browser: Browser, stack: Stack, course: dict[str, str]) -> None:  # noqa: F811
    context, page = new_page(browser, stack)
    sign_in(page, course[f"ito-{NN}"])
    sign_in(page, course[f"ito-{ML}"])            # the second course's token joins the session
    expect(page.locator("h1")).to_contain_text("Machine learning")
    expect(page.locator("header .who")).to_have_text("Signed in as Ito Aoi")
    page.locator("#course-switcher").get_by_role("link", name="Neural networks").click()
    expect(page.locator("h1")).to_contain_text("Neural networks")
    page.locator("#course-switcher").get_by_role("link", name="Machine learning").click()
    page.get_by_role("link", name="Backpropagation", exact=False).first.click()
    page.wait_for_url(f"**{OFFERING}")
    page.fill("#opens", "2027-01-06T09:00")
    page.fill("#due", "2027-01-13T17:00")
    page.fill("#late-until", "2027-01-20T17:00")
    page.fill("#penalty", "10")
    page.locator("#save-dates").click()
    said = page.locator("#consequences")
    expect(said).to_contain_text("Submissions after 2027-01-13 17:00 JST are late.")
    expect(said).to_contain_text("Each started day late costs 10 % of the maximum.")
    expect(said).to_contain_text("Submissions after 2027-01-20 17:00 JST are refused.")
    expect(page.locator("#due")).to_have_value("2027-01-13T17:00")      # read back in the course's time zone
    page.fill("#due", "2027-01-21T17:00")                                 # after the close: out of order
    page.locator("#save-dates").click()
    expect(page.locator("#form-error")).to_contain_text("must come in order")
    status, said_back = _forged_post(page, f"{OFFERING}/dates", {"late_penalty_pct": "150", "counts": "latest"})
    assert status == 422 and "<html" in said_back      # a page saying which field and why, not FastAPI's JSON
    assert "“Late penalty per started day (% of the maximum)” must be at most 100." in said_back
    page.goto(OFFERING)
    expect(said).to_contain_text("2027-01-20 17:00 JST are refused")    # nothing was changed
    page.select_option("#ext-student", "ken")
    page.fill("#ext-due", "2027-01-25T17:00")
    page.locator("#grant-extension").click()
    expect(page.locator("#extension-list")).to_contain_text("Ken Sato")
    expect(page.locator("#extension-list")).to_contain_text("2027-01-25 17:00 JST")
    screenshot(page, "staff_offering")
    page.locator("#audit-link").click()
    newest = page.locator("#audit tbody tr").first
    expect(newest).to_contain_text("Ito Aoi (instructor:ito)")
    expect(newest).to_contain_text("Extension")
    expect(newest).to_contain_text("backprop/ken")
    expect(newest).to_contain_text('"due": "2027-01-25T17:00:00+09:00"')   # after, as entered
    screenshot(page, "staff_audit")
    context.close()


def _forged_post(page: Page, path: str, fields: dict[str, str]) -> tuple[int, str]:
    """A post the page's forms would not make, with the session's own CSRF token: its status and what it said."""
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    return tuple(page.evaluate("""async ([path, fields]) => {
        const answer = await fetch(path, {method: 'POST', body: new URLSearchParams(fields),
                                          headers: {'Content-Type': 'application/x-www-form-urlencoded'}});
        return [answer.status, await answer.text()]; }""", [path, {**fields, "csrf_token": csrf}]))


def test_a_ta_sees_no_dates_or_extension_form_a_forged_post_is_refused_and_a_new_token_ends_the_session(
        browser: Browser, stack: Stack, course: dict[str, str]) -> None:  # noqa: F811
    with stack.client(INSTRUCTOR) as admin:
        before = admin.get(f"/api/courses/{ML}/offerings").json()
    context, page = new_page(browser, stack)
    sign_in(page, course["tan"])
    page.goto(OFFERING)
    expect(page.locator("#results")).to_contain_text("Ken Sato")           # a TA views the results
    expect(page.locator("#dates-form")).to_have_count(0)
    expect(page.locator("#extension-form")).to_have_count(0)
    expect(page.locator("#audit-link")).to_have_count(0)
    assert _forged_post(page, f"{OFFERING}/dates", {"due": "2027-02-01T17:00", "late_penalty_pct": "0",
                                                    "counts": "latest"})[0] == 403
    assert _forged_post(page, f"{OFFERING}/extensions", {"student": "ken", "due": "2027-03-01T17:00"})[0] == 403
    assert page.goto(f"/staff/{ML}/audit").status == 403
    assert page.goto(f"/staff/{NN}").status == 404                          # not their course
    with stack.client(INSTRUCTOR) as admin:
        assert admin.get(f"/api/courses/{ML}/offerings").json() == before
        assert admin.post(f"/api/courses/{ML}/staff/tan/token").status_code == 201   # a new token for Tan ...
    page.goto(OFFERING)
    expect(page).to_have_url(re.compile(r"/signin$"))                          # ... ends the old one's session
    context.close()


def test_a_student_sees_their_courses_with_their_own_dates_time_left_and_late_status(
        browser: Browser, stack: Stack, course: dict[str, str]) -> None:  # noqa: F811
    start = datetime.now(UTC)
    due, close = start + timedelta(days=2, minutes=30), start + timedelta(days=9)
    with stack.client(INSTRUCTOR) as admin:
        assert admin.put(f"/api/courses/{ML}/offerings/backprop", json={
            "opens": (start - timedelta(days=1)).isoformat(), "due": due.isoformat(),
            "late_until": close.isoformat(), "late_penalty_per_day": 0.1}).status_code == 200
        assert admin.put(f"/api/courses/{ML}/offerings/backprop/extensions/ken", json={}).status_code == 200
    context, page = new_page(browser, stack)
    sign_in(page, course["ken"])
    page.goto("/courses")
    offered = page.locator(f"#{ML}-backprop")
    tokyo = ZoneInfo("Asia/Tokyo")
    expect(offered).to_contain_text(f"Due {due.astimezone(tokyo):%Y-%m-%d %H:%M} JST (2 d 0 h")
    expect(offered).to_contain_text(f"Submissions after {close.astimezone(tokyo):%Y-%m-%d %H:%M} JST are refused.")
    expect(offered).to_contain_text("Open: an upload now is on time.")
    expect(page.locator(f"#course-{NN}")).to_have_count(0)                  # not enrolled there
    screenshot(page, "my_courses")
    context.close()
