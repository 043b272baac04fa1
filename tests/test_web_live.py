"""The result page in a real browser (Playwright driving Debian's Chromium, a real stack): it learns that a
grading is done from one held request, not from polling, and shows the result in place from that answer;
without JavaScript the page still reaches the result by itself."""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING

import pytest

from tests.conftest import require_module
from tests.notebooks import notebook_bytes, solution_cells
from tests.service_parts import Stack
from tests.web_parts import browser, new_page, sign_in, stack  # noqa: F401 - fixtures

if TYPE_CHECKING:
    from playwright.sync_api import Response

expect = require_module("playwright.sync_api", "`make install` installs the dev extra's playwright").expect
IN_LINE_WAIT_MS = 3000    # what the status route holds a request while the submission waits in line (or longer)
RESULT_PAGE = re.compile(r"/submissions/[0-9a-f]+$")
SLOW = notebook_bytes(*solution_cells(), "import time\ntime.sleep(4)")   # correct, and running for seconds


@pytest.fixture(scope="module")
def tokens(stack: Stack) -> dict[str, str]:  # noqa: F811
    return stack.roster("ann", "ben")


def upload(page, tmp_path, name: str, blob: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(blob)
    page.goto("/assignments/backprop")
    page.get_by_label("Notebook file (.ipynb)").set_input_files(str(path))
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url("**/submissions/*")


def test_the_result_appears_in_place_from_the_answer_that_says_done(browser, stack: Stack,  # noqa: F811
                                                                    tokens: dict, tmp_path) -> None:
    context, page = new_page(browser, stack)
    sign_in(page, tokens["ann"])
    answers: list[Response] = []
    page_loads: list[str] = []
    page.on("response", lambda r: answers.append(r) if "/status" in r.url else None)
    page.on("request", lambda r: page_loads.append(r.url) if RESULT_PAGE.search(r.url) else None)
    upload(page, tmp_path, "slow.ipynb", SLOW)
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("#units tr.ok").first).to_be_visible(timeout=120_000)
    expect(page.locator("#status-text")).to_have_text("Done")
    assert page.evaluate("window.stillTheSamePage") is True        # no reload
    assert len(page_loads) == 1, page_loads                         # nor a second fetch of the page: the answer had it
    bodies = [(a.json(), a.request.timing) for a in answers]
    assert "html" in bodies[-1][0] and bodies[-1][0]["status"] == "done"
    assert bodies[-1][0]["waited"] == "changed"                     # the held request was answered by the change
    shown = [a.request.url.split("after=")[1] for a in answers]    # the status the page showed when it asked
    statuses = [body["status"] for body, _ in bodies]
    assert shown[0] != "done" and statuses[-1] == "done"            # it ran for seconds while the page watched
    for (before, _), (body, timing) in itertools.pairwise(bodies):
        if body["status"] == before["status"]:                      # no news: the request was held, not repeated
            assert timing["responseStart"] >= IN_LINE_WAIT_MS * 0.9, (statuses, timing)
    context.close()


def test_without_javascript_the_page_reaches_the_result_by_itself(browser, stack: Stack,  # noqa: F811
                                                                  tokens: dict, tmp_path) -> None:
    context = browser.new_context(base_url=stack.url, java_script_enabled=False, viewport={"width": 1280,
                                                                                         "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    sign_in(page, tokens["ben"])
    upload(page, tmp_path, "slow.ipynb", SLOW)                       # the plain form, then the redirect
    expect(page.locator("#status-text")).not_to_have_text("Done")
    expect(page.locator("#units tr.ok").first).to_be_visible(timeout=120_000)   # the page refreshed itself
    expect(page.locator("#status-text")).to_have_text("Done")
    context.close()
