"""In Chromium, as people meet it: an instructor adds the tool to an LMS course by deep linking (the LMS's login
redirect, the platform's auto-submitted form, the picker, the signed answer auto-submitted back to the LMS),
and a learner who opens that link lands signed in on their courses' page, in the launch's language."""

from __future__ import annotations

from urllib.parse import urlencode

from grader import catalogue
from tests.lti_parts import launch
from tests.service_parts import wait_until
from tests.web_parts import browser, expect, new_page, screenshot  # noqa: F401 - fixtures

LINK = {"id": "link-browser", "title": "Backprop (browser)"}


def login_url(stack, platform, hint: str, message_hint: str) -> str:
    """Where the LMS sends the browser to start a launch (OIDC third-party-initiated login)."""
    return f"{stack.url}/lti/login?" + urlencode({
        "iss": platform.issuer, "login_hint": hint, "target_link_uri": f"{stack.url}/lti/launch",
        "client_id": platform.client_id, "lti_deployment_id": platform.deployment_id,
        "lti_message_hint": message_hint})


def test_an_instructor_deep_links_an_offering_and_a_learner_lands_on_it_signed_in(lti_stack, browser) -> None:  # noqa: F811
    stack, platform = lti_stack
    launch(stack, platform, "bob")                             # the course exists (its first instructor launch)
    platform.message_hints["deep-link"] = platform.deep_linking_claims()
    context, page = new_page(browser, stack, locale="ja-JP")
    try:
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
        assert item["custom"] == {"offering": "backprop"}
    finally:
        context.close()
    platform.message_hints["open-link"] = {"__resource_link": LINK, "__custom": item["custom"]}
    context, page = new_page(browser, stack, locale="en-US")
    try:
        page.goto(login_url(stack, platform, "ann", "open-link"))
        course = stack.store().lti_context(platform.issuer, "course-1").course
        page.wait_for_url(f"**/courses/{course}/assignments/backprop")     # their page of the linked offering
        assert page.locator("html").get_attribute("lang") == "ja"      # the launch's locale, not the browser's
        expect(page.locator("#course-link")).to_have_text("Deep Learning 2026")   # signed in: their LMS course
        expect(page.locator("#upload")).to_be_visible()
        screenshot(page, "lti-learner-landed")
    finally:
        context.close()
