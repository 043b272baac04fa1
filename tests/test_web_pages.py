"""The web pages in a real browser (Playwright driving Debian's Chromium) against a real service stack:
what students and instructors rely on, and what a hostile notebook or a curious student must not achieve."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import SHARED_EXAMPLES
from tests.service_parts import Stack, submit
from tests.web_parts import (  # noqa: F401 - fixtures
    HOSTILE_HOST,
    INSTRUCTOR,
    browser,
    csv_rows,
    hostile_notebook,
    new_page,
    screenshot,
    sign_in,
    stack,
    wait_graded,
)

WRONG_RELU = SHARED_EXAMPLES / "07_relu_backward_wrong_mask.ipynb"


@pytest.fixture(scope="module")
def course(stack: Stack) -> dict:  # noqa: F811
    """Two students; ben has a graded hostile notebook (correct definitions, script everywhere)."""
    tokens = stack.roster("ann", "ben")
    with stack.client(tokens["ben"]) as ben:
        hostile = submit(ben, "backprop", "hostile.ipynb", hostile_notebook())
    assert wait_graded(stack, tokens["ben"], hostile)["status"] == "done"
    return {"tokens": tokens, "ben_submission": hostile}


def test_student_uploads_watches_it_finish_and_reads_feedback_and_plots(browser: Browser, stack: Stack,  # noqa: F811
                                                                         course: dict) -> None:
    context, page = new_page(browser, stack)
    sign_in(page, course["tokens"]["ann"])
    page.get_by_role("link", name="Backpropagation").click()
    page.get_by_label("Notebook file (.ipynb)").set_input_files(str(WRONG_RELU))
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url("**/submissions/*")
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("#status-text")).to_have_text("Done", timeout=90_000)
    assert page.evaluate("window.stillTheSamePage") is True   # the result arrived without a reload
    expect(page.locator("#units tr", has_text="Relu")).to_contain_text("2 / 4")
    relu = page.locator("#unit-Relu")
    expect(relu).to_contain_text("backward")
    expect(relu.locator("figure.excerpt pre").first).to_contain_text("class Relu")
    for plot in ("gradient", "training"):
        image = page.locator(f"#plot-{plot} img")
        expect(image).to_have_attribute("alt", re.compile(r".{20,}"))
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    expect(page.locator("#plot-gradient img")).to_have_attribute("alt", re.compile(r"W1: [^;]*above the threshold"))
    expect(page.locator("#notes")).to_contain_text("dataset")
    screenshot(page, "student_result")
    context.close()
