"""The web pages in a real browser (Playwright driving Debian's Chromium) against a real service stack:
what students and instructors rely on, and what a hostile notebook or a curious student must not achieve."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.conftest import SHARED_EXAMPLES
from tests.service_parts import Stack, submit
from tests.web_parts import (  # noqa: F401 - fixtures
    HOSTILE_HOST,
    INSTRUCTOR,
    browser,
    csv_rows,
    expect,
    hostile_notebook,
    new_page,
    screenshot,
    sign_in,
    stack,
    wait_graded,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

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
    expect(page.locator("#units tr.ng", has_text="Relu")).to_be_visible()       # Relu lost points
    expect(page.locator("#units tr.ok", has_text="Affine")).to_be_visible()     # Affine did not
    relu = page.locator("#unit-Relu")
    expect(relu).to_contain_text("backward's dx is wrong in")   # a Japanese notebook, read in English
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


def test_a_bad_upload_shows_its_error_and_leaves_the_history_unchanged(browser: Browser, stack: Stack,  # noqa: F811
                                                                      course: dict, tmp_path) -> None:
    context, page = new_page(browser, stack)
    sign_in(page, course["tokens"]["ann"])
    page.goto("/assignments/backprop")
    history = page.locator("#history tbody tr").count()
    picker, message = page.get_by_label("Notebook file (.ipynb)"), page.locator("#upload-message")
    submit_button = page.get_by_role("button", name="Submit", exact=True)

    picker.set_input_files(files=[{"name": "answers.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    submit_button.click()
    expect(message).to_contain_text("Only .ipynb notebook files can be submitted.")
    picker.set_input_files(files=[{"name": "huge.ipynb", "mimeType": "application/json",
                                   "buffer": b" " * (6 * 1024 * 1024)}])
    submit_button.click()
    expect(message).to_contain_text("larger than the 5.0 MB limit")
    picker.set_input_files(files=[{"name": "broken.ipynb", "mimeType": "application/json",
                                   "buffer": b'{"cells": [}'}])
    submit_button.click()
    expect(message).to_contain_text("not JSON")          # the intake's own message, from the server
    expect(message).to_contain_text("Nothing was submitted")
    screenshot(page, "bad_upload")
    page.reload()
    assert page.locator("#history tbody tr").count() == history
    context.close()


def test_instructor_grades_by_hand_downloads_the_gradebook_and_regrades(browser: Browser, stack: Stack,  # noqa: F811
                                                                        course: dict, backprop) -> None:
    context, page = new_page(browser, stack)
    sign_in(page, INSTRUCTOR)
    expect(page.locator("#workers")).to_contain_text(" ")     # the worker's heartbeat is listed
    page.get_by_label("Import the roster (CSV: id,name,email)").set_input_files(files=[{
        "name": "roster.csv", "mimeType": "text/csv", "buffer": b"id,name,email\ncho,Cho,c@x.org\nann,Ann,a@x.org\n"}])
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#tokens tr")).to_have_count(1)          # only the new student gets a token
    expect(page.locator("#tokens")).to_contain_text("cho")
    page.goto("/instructor/assignments/backprop")
    matrix = page.locator("#matrix")
    expect(matrix.locator("tbody tr", has_text="ben").locator("td").last).to_have_text(f"{backprop.max_score:g}")
    expect(matrix.locator("tfoot")).to_contain_text("Mean of the")
    total = matrix.get_by_role("button", name="Total")
    total.click()
    expect(matrix.locator("thead th").last).to_have_attribute("aria-sort", "ascending")
    screenshot(page, "instructor_matrix")

    matrix.locator("tbody tr", has_text="ben").get_by_role("link").first.click()
    expect(page.frame_locator("#notebook").locator("body")).to_contain_text("def cross_entropy_error")
    expect(page.locator("#manual .written")).to_contain_text("感想")
    page.get_by_label("Manual score").fill("4.5")
    page.get_by_label("Comment").fill("よく書けています / well argued")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_have_text("Saved.")
    expect(page.locator("#total")).to_contain_text("4.5")
    screenshot(page, "instructor_submission")

    page.get_by_role("button", name="Regrade", exact=True).click()
    expect(page.locator("#submission-status")).not_to_have_text("Done")
    wait_graded(stack, INSTRUCTOR, course["ben_submission"])
    page.reload()
    expect(page.locator("#submission-status")).to_have_text("Done")
    expect(page.get_by_label("Manual score")).to_have_value("4.5")      # the manual grade survived the regrade

    page.goto("/instructor/assignments/backprop")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the gradebook (CSV)").click()
    rows = {r["student_id"]: r for r in csv_rows(open(download.value.path(), encoding="utf-8").read())}
    assert rows["ben"]["manual_score"] == "4.5" and rows["ben"]["manual_comment"] == "よく書けています / well argued"
    assert float(rows["ben"]["total"]) == float(rows["ben"]["score"]) + 4.5
    context.close()


def test_a_hostile_notebook_runs_no_script_in_the_instructors_page(browser: Browser, stack: Stack,  # noqa: F811
                                                                 course: dict) -> None:
    context, page = new_page(browser, stack)
    sign_in(page, INSTRUCTOR)
    dialogs, consoles, outside = [], [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: consoles.append(m.text))
    context.on("request", lambda r: outside.append(r.url) if not r.url.startswith((stack.url, "data:")) else None)
    page.goto(f"/instructor/submissions/{course['ben_submission']}")
    frame = page.frame_locator("#notebook")
    expect(frame.locator("body")).to_contain_text("hostile markdown")
    notebook = next(f for f in page.frames if f.url.endswith("/notebook"))
    found = notebook.evaluate("""() => ({
        scripts: document.querySelectorAll('script').length +
            document.body.querySelectorAll('iframe, object, embed, svg, style').length,
        handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(
            a => a.name.startsWith('on'))).length,
        jsLinks: [...document.querySelectorAll('a[href]')].filter(a => !a.getAttribute('href').startsWith('#')).length,
        outsideImages: [...document.images].filter(i => i.getAttribute('src') &&
            !i.getAttribute('src').startsWith('data:image/')).length})""")
    assert found == {"scripts": 0, "handlers": 0, "jsLinks": 0, "outsideImages": 0}
    frame.locator("body").hover()
    page.wait_for_timeout(500)
    assert dialogs == [] and outside == []
    assert not [m for m in consoles if "hostile" in m]
    screenshot(page, "hostile_notebook")
    context.close()


def test_a_student_cannot_open_another_students_result_and_forms_need_the_csrf_token(
        browser: Browser, stack: Stack, course: dict) -> None:  # noqa: F811
    context, page = new_page(browser, stack)
    sign_in(page, course["tokens"]["ann"])
    answer = page.goto(f"/submissions/{course['ben_submission']}")
    assert answer.status == 404
    expect(page.locator("main")).to_contain_text("Not found.")
    assert page.goto(f"/instructor/submissions/{course['ben_submission']}").status == 404
    screenshot(page, "refused_other_student")

    forged = page.request.post("/lang", form={"lang": "ja", "next": "/assignments"}, max_redirects=0)
    assert forged.status == 403
    wrong = page.request.post("/lang", form={"lang": "ja", "csrf_token": "guess"}, max_redirects=0)
    assert wrong.status == 403
    upload = page.request.post("/assignments/backprop/submit", multipart={"file": {
        "name": "hw.ipynb", "mimeType": "application/json", "buffer": WRONG_RELU.read_bytes()}}, max_redirects=0)
    assert upload.status == 403
    page.goto("/assignments/backprop")
    expect(page.locator("h1")).to_contain_text("Backpropagation")   # no forged form changed anything
    with stack.client(course["tokens"]["ann"]) as api:
        stored = api.get("/api/submissions", params={"assignment": "backprop"}).json()["submissions"]
    expect(page.locator("#history tbody tr")).to_have_count(len(stored))
    context.close()


def test_the_language_switch_changes_the_page_to_each_language_and_back(browser: Browser, stack: Stack,  # noqa: F811
                                                                        course: dict) -> None:
    context, page = new_page(browser, stack, locale="en-US", width=375)   # a phone's width
    sign_in(page, course["tokens"]["ann"])
    expect(page.locator("h1")).to_have_text("Assignments")
    page.get_by_label("Language").select_option("ja")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("h1")).to_have_text("課題")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375   # nothing wider than the phone
    screenshot(page, "japanese_phone_width")
    page.get_by_label("言語").select_option("ko")
    page.get_by_role("button", name="変更").click()
    expect(page.locator("h1")).to_have_text("과제")
    page.get_by_label("언어").select_option("zh")
    page.get_by_role("button", name="변경").click()
    expect(page.locator("h1")).to_have_text("作业")
    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()
    expect(page.locator("h1")).to_have_text("Assignments")
    context.close()

    for locale, heading in (("ja-JP", "課題"), ("ko-KR", "과제")):   # the browser's language, without the switch
        context, page = new_page(browser, stack, locale=locale)
        sign_in(page, course["tokens"]["ann"])
        expect(page.locator("h1")).to_have_text(heading)
        context.close()
