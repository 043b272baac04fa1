"""A class in the browser (Playwright driving Debian's Chromium, a real stack): every rostered student is in
the gradebook, "no submission" is its own case, and the seed report's feedback reads in three screens."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.conftest import SHARED_EXAMPLES
from tests.service_parts import Stack, submit
from tests.web_parts import (  # noqa: F401 - fixtures
    INSTRUCTOR,
    browser,
    csv_rows,
    expect,
    new_page,
    screenshot,
    sign_in,
    stack,
    wait_graded,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SEED = SHARED_EXAMPLES / "02_seed_as_submitted.ipynb"
SCREEN = 900


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> dict:  # noqa: F811
    """Three on the roster: ann handed in the seed notebook (graded), ben and cho nothing."""
    tokens = stack.roster("ann", "ben", "cho")
    with stack.client(tokens["ann"]) as ann:
        submission = submit(ann, "backprop", SEED.name, SEED.read_bytes())
    status = wait_graded(stack, tokens["ann"], submission)
    assert status["status"] == "done"
    return {"tokens": tokens, "submission": submission, "report": status["report"]}


def test_the_gradebook_lists_every_rostered_student_and_says_what_its_means_are_over(
        browser: Browser, stack: Stack, seeded: dict) -> None:  # noqa: F811
    context, page = new_page(browser, stack)
    sign_in(page, INSTRUCTOR)
    page.goto("/instructor/assignments/backprop")
    matrix = page.locator("#matrix")
    expect(matrix.locator("tbody tr")).to_have_count(3)
    for student in ("ben", "cho"):
        row = matrix.locator("tbody tr", has_text=student)
        expect(row).to_contain_text("no submission")
        expect(row.locator("td.none").first).to_be_visible()        # its own colour, not a zero's
    expect(page.locator("#mean_graded")).to_contain_text("Mean of the 1 graded")
    expect(page.locator("#mean_roster")).to_contain_text("whole roster (3")
    score = f"{seeded['report']['score']:g}"
    expect(page.locator("#mean_graded td").last).to_have_text(f"{seeded['report']['score']:.2f}")
    expect(page.locator("#mean_roster td").last).to_have_text(f"{seeded['report']['score'] / 3:.2f}")
    total = matrix.get_by_role("button", name="Total")
    for _ in ("ascending", "descending"):                            # "no submission" stays last either way
        total.click()
        expect(matrix.locator("tbody tr").first).to_contain_text("ann")
        expect(matrix.locator("tbody tr").last).to_contain_text("no submission")
    expect(page.locator("#histogram-ungraded")).to_contain_text("2 students")
    screenshot(page, "gradebook_roster")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the gradebook (CSV)").click()
    rows = {r["student_id"]: r for r in csv_rows(open(download.value.path(), encoding="utf-8").read())}
    assert set(rows) == {"ann", "ben", "cho"}
    assert (rows["ann"]["status"], rows["ann"]["score"]) == ("graded", score)
    assert (rows["cho"]["status"], rows["cho"]["score"], rows["cho"]["total"]) == ("no submission", "", "")
    context.close()


def test_the_seed_reports_every_cause_and_diagnosis_is_visible_within_three_screens(
        browser: Browser, stack: Stack, seeded: dict) -> None:  # noqa: F811
    context, page = new_page(browser, stack)
    sign_in(page, seeded["tokens"]["ann"])
    page.goto(f"/submissions/{seeded['submission']}")
    expect(page.locator("#units")).to_be_visible()
    height = page.evaluate("document.documentElement.scrollHeight")
    screenshot(page, "seed_result")
    assert height <= 3 * SCREEN, f"the seed report's page is {height} px tall"
    diagnoses = {c["diagnosis"]["id"] for u in seeded["report"]["units"].values() for c in u["checks"]
                 if not c["passed"] and c.get("diagnosis")}
    assert len(diagnoses) >= 5
    for diagnosis in diagnoses:
        expect(page.locator(f'[data-diagnosis="{diagnosis}"]').first).to_be_visible()
    failing_units = [name for name, u in seeded["report"]["units"].items() if u["score"] < u["max_score"]]
    for unit in failing_units:
        causes = page.locator(f"#unit-{unit} .cause")
        expect(causes.first).to_be_visible()
        expect(causes.first.locator("summary")).to_have_count(0)                     # the first one is open
        for folded in causes.locator("summary").all():                               # the rest are folded
            expect(folded).to_be_visible()
    gradient = page.locator("#unit-gradient")
    expect(gradient).to_contain_text("W1, b1, W2, b2, and their second-call and large twins (12 checks)")
    folded = gradient.locator("details.cause").first
    expect(folded.locator("figure.excerpt")).not_to_be_visible()
    folded.locator("summary").focus()                                                  # keyboard reachable
    page.keyboard.press("Enter")
    expect(folded.locator("figure.excerpt")).to_be_visible()
    context.close()
