"""In Chromium, as people meet it: an instructor adds the tool to an LMS course by deep linking (the LMS's login
redirect, the platform's auto-submitted form, the picker, the signed answer auto-submitted back to the LMS); a
learner who opens that link lands signed in on the offering's page, in the launch's language, uploads the
assignment's solution, a real worker grades it, and the full marks arrive at the platform's AGS line item within
seconds; the instructor's "sync now" brings in the three students the LMS course gained; each bad launch the
browser carries is refused with a page saying why, nothing created."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from grader import catalogue
from grader.config import ASSIGNMENTS_DIR
from tests.lti_parts import ANN, BAD_LAUNCHES, BOB, bad_launch, launch, nrps_entry
from tests.lti_platform import INSTRUCTOR, LEARNER, User
from tests.service_parts import wait_until
from tests.web_parts import browser, expect, new_page, screenshot  # noqa: F401 - fixtures

LINK = {"id": "link-browser", "title": "Backprop (browser)"}
SOLUTION = ASSIGNMENTS_DIR / "backprop" / "solution.ipynb"
NEWCOMERS = [nrps_entry(f"nrps-{n}", f"Listed {n}", [LEARNER]) for n in ("carl", "dana", "emil")]


@pytest.fixture(scope="module")
def lti_graded(lti_stack):
    """The module's LTI stack with a worker (one for the module: it self-checks the assignments as it starts)."""
    stack, platform = lti_stack
    stack.start_worker(concurrency=1)
    return stack, platform


def login_url(stack, platform, hint: str, message_hint: str) -> str:
    """Where the LMS sends the browser to start a launch (OIDC third-party-initiated login)."""
    return f"{stack.url}/lti/login?" + urlencode({
        "iss": platform.issuer, "login_hint": hint, "target_link_uri": f"{stack.url}/lti/launch",
        "client_id": platform.client_id, "lti_deployment_id": platform.deployment_id,
        "lti_message_hint": message_hint})


def deep_link(page, stack, platform) -> dict:
    """The instructor picks backprop for a new LMS link; the content item the LMS took."""
    platform.message_hints["deep-link"] = platform.deep_linking_claims()
    page.goto(login_url(stack, platform, "bob", "deep-link"))
    page.wait_for_url(f"{stack.url}/lti/launch")
    page.get_by_text(catalogue.text("pages", "lti_pick_title", "ja")).first.wait_for()
    screenshot(page, "lti-deep-link-picker")
    page.locator('input[name=assignment][value="backprop"]').check()
    before = len(platform.deep_links)
    page.get_by_role("button", name=catalogue.text("pages", "lti_pick_button", "ja")).click()
    page.wait_for_url(f"{platform.issuer}/deep-link-return")     # /static/lti.js posted it to the LMS
    wait_until(lambda: len(platform.deep_links) > before, 10, "the LMS took the deep link")
    [item] = platform.deep_links[-1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    return item


def ann_scores(platform, lineitem: str | None = None) -> list[dict]:
    """The scores the platform took for Ann (to this line item, if given)."""
    return [body for at, body in platform.scores if lineitem in (None, at) and body["userId"] == ANN.sub]


def test_a_linked_offering_takes_a_learners_upload_and_its_score_reaches_the_lms(lti_graded, browser) -> None:  # noqa: F811
    stack, platform = lti_graded
    platform.members = [nrps_entry(BOB.sub, BOB.name, [INSTRUCTOR]), nrps_entry(ANN.sub, ANN.name, [LEARNER])]
    launch(stack, platform, "bob")                             # the course exists (its first instructor launch)
    course = stack.store().lti_context(platform.issuer, "course-1").course
    instructor, staff_page = new_page(browser, stack, locale="ja-JP")
    context, page = new_page(browser, stack, locale="en-US")
    try:
        item = deep_link(staff_page, stack, platform)
        assert item["custom"] == {"offering": "backprop"}
        platform.message_hints["open-link"] = {"__resource_link": LINK, "__custom": item["custom"]}
        page.goto(login_url(stack, platform, "ann", "open-link"))
        page.wait_for_url(f"**/courses/{course}/assignments/backprop")     # their page of the linked offering
        assert page.locator("html").get_attribute("lang") == "ja"      # the launch's locale, not the browser's
        expect(page.locator("#course-link")).to_have_text("Deep Learning 2026")   # signed in: their LMS course
        screenshot(page, "lti-learner-landed")
        page.locator("#file").set_input_files(str(SOLUTION))
        page.locator("#upload button[type=submit]").click()
        page.wait_for_url("**/submissions/*")
        submission = page.url.rsplit("/", 1)[1]
        expect(page.locator("#units tr.ok").first).to_be_visible(timeout=180_000)   # graded by the worker
        maximum = stack.store().assignment("backprop").max_score
        assert stack.store().result(submission).score == maximum
        wait_until(lambda: any(s.get("scoreGiven") == maximum for s in ann_scores(platform)), 15,
                   "the full marks at the platform's line item")
        [lineitem] = platform.lineitems                            # made by the tool, for the link
        assert (lineitem["resourceLinkId"], lineitem["resourceId"], lineitem["scoreMaximum"]) == \
            (LINK["id"], "backprop", maximum)
        posted = next(s for s in ann_scores(platform, lineitem["id"]) if s.get("scoreGiven") == maximum)
        assert (posted["scoreMaximum"], posted["activityProgress"], posted["gradingProgress"]) == \
            (maximum, "Completed", "FullyGraded")
        screenshot(page, "lti-learner-graded")
        platform.members += NEWCOMERS                              # three more students in the LMS course
        staff_page.goto(f"{stack.url}/lti/courses/{course}")     # the instructor, still signed in from the LMS
        expect(staff_page.locator(".lti-grades")).to_have_text(
            catalogue.text("pages", "lti_grades_sent", "ja") % {"minutes": 0, "waiting": 0})
        staff_page.get_by_role("button", name=catalogue.text("pages", "lti_roster_sync", "ja")).click()
        expect(staff_page.locator(".notice")).to_have_text(
            catalogue.text("pages", "lti_roster_synced", "ja") % {"joined": 3, "left": 0})
        assert {"Listed carl", "Listed dana", "Listed emil", ANN.name} <= {s.name for s in stack.store().roster(course)}
        screenshot(staff_page, "lti-roster-synced")
    finally:
        context.close()
        instructor.close()


@pytest.fixture(scope="module")
def chromium_page(lti_graded, browser) -> Iterator:  # noqa: F811
    """One browser context for the bad launches (each a fresh login, so no state carries over)."""
    stack, _ = lti_graded
    context, page = new_page(browser, stack, locale="en-US")
    try:
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("case", list(BAD_LAUNCHES))
def test_a_bad_launch_the_browser_carries_is_refused_with_a_page_saying_why(lti_graded, chromium_page,
                                                                            case: str) -> None:
    stack, platform = lti_graded
    arguments, reason, facts = bad_launch(platform, case)
    hint = f"bad-{len(platform.users)}"
    newcomer = User(f"new-{hint}", f"Newcomer {case}", "new@uni.example", [LEARNER])
    platform.users[hint], platform.message_hints[hint] = newcomer, arguments
    chromium_page.goto(login_url(stack, platform, hint, hint))
    chromium_page.wait_for_url(f"{stack.url}/lti/launch")
    expect(chromium_page.locator("main")).to_contain_text(catalogue.text("pages", reason, "ja") % facts)
    assert chromium_page.locator("html").get_attribute("lang") == "ja"       # the launch's locale
    assert newcomer.name not in {s.name for s in stack.store().students()}
