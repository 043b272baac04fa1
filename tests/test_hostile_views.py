"""Hostile notebooks against a real `grader serve` (its own redis-server, a real worker) and Chromium: what the
instructor's pages show is what the student submitted, and no view trains, draws or renders in the API
process more than once, nor makes other views wait."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import httpx
import nbformat
import pytest
from sqlalchemy import delete, update

from grader.languages import LANGUAGES
from service.models import Rendering, Result
from tests.notebooks import solution_cells
from tests.service_parts import Stack, submit
from tests.test_notebook_view import CONCEALERS, FAKE_CELL, PIXEL
from tests.web_parts import INSTRUCTOR, browser, expect, new_page, screenshot, sign_in, stack, wait_graded  # noqa: F401

if TYPE_CHECKING:
    from playwright.sync_api import Browser

HEADING = "# x" + " " * 100_000 + "y"
BIG = 900     # empty code cells in the large notebook (intake refuses over 1,000 cells)


def _notebook(before: list[nbformat.NotebookNode], after: list[nbformat.NotebookNode] = ()) -> bytes:
    nb = nbformat.v4.new_notebook()
    code = [nbformat.v4.new_code_cell(source, execution_count=i + 1) for i, source in enumerate(solution_cells())]
    nb.cells = [*before, *code, *after]
    return nbformat.writes(nb).encode()


def _concealing() -> bytes:
    pasted = nbformat.v4.new_markdown_cell("A pasted image: ![image.png](attachment:image.png)")
    pasted["attachments"] = {"image.png": {"image/png": PIXEL}}
    return _notebook([nbformat.v4.new_markdown_cell(FAKE_CELL + c) for c in CONCEALERS] + [pasted])


@pytest.fixture(scope="module")
def course(stack: Stack) -> dict:  # noqa: F811
    """Three graded hostile notebooks of one student: a heading that backtracks, concealers, 900 cells."""
    tokens = stack.roster("mal")
    blobs = {"heading": _notebook([nbformat.v4.new_markdown_cell(HEADING + "\n## 感想\nよく分かった")]),
             "concealing": _concealing(),
             "big": _notebook([], [nbformat.v4.new_code_cell("", outputs=[
                 nbformat.v4.new_output("stream", name="stdout", text="out\n")]) for _ in range(BIG)])}
    with stack.client(tokens["mal"]) as mal:
        ids = {name: submit(mal, "backprop", f"{name}.ipynb", blob) for name, blob in blobs.items()}
    for submission in ids.values():
        assert wait_graded(stack, tokens["mal"], submission, timeout=240)["status"] == "done"
    return {"token": tokens["mal"], **ids}


@pytest.fixture
def instructor(browser: Browser, stack: Stack) -> Iterator[httpx.Client]:  # noqa: F811
    """An HTTP client with the instructor's browser session (signed in through the page, in Chromium)."""
    context, page = new_page(browser, stack)
    sign_in(page, INSTRUCTOR)
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    context.close()
    with httpx.Client(base_url=stack.url, cookies=cookies, timeout=120) as client:
        yield client


def _timed_get(client: httpx.Client, path: str, lang: str = "en") -> tuple[float, str]:
    started = time.monotonic()
    answer = client.get(path, headers={"Accept-Language": lang})
    assert answer.status_code == 200, (path, answer.status_code)
    return time.monotonic() - started, answer.text


def _forget_views(stack: Stack, submission_id: str) -> None:  # noqa: F811
    """As if graded before views were made by the worker: nothing stored for this submission."""
    with stack.store().sessions.begin() as s:
        s.execute(delete(Rendering).where(Rendering.submission_id == submission_id))


def test_a_backtracking_heading_keeps_the_instructors_page_prompt(instructor: httpx.Client, course: dict) -> None:
    seconds, body = _timed_get(instructor, f"/instructor/submissions/{course['heading']}")
    assert "よく分かった" in body
    assert seconds < 2.0, seconds           # before: 16–39 s for 2,400 spaces


def test_a_large_notebook_view_is_bounded_says_what_was_cut_and_holds_no_other_view(
        instructor: httpx.Client, stack: Stack, course: dict) -> None:  # noqa: F811
    seconds, body = _timed_get(instructor, f"/instructor/submissions/{course['big']}/notebook")
    code_cells = BIG + len(solution_cells())
    assert f"500 code cells shown of {code_cells} in the file" in body and seconds < 2.0, seconds
    _forget_views(stack, course["big"])       # as if graded before: its first view makes it, apart
    with ThreadPoolExecutor(2) as pool:
        big = pool.submit(_timed_get, instructor, f"/instructor/submissions/{course['big']}/notebook")
        time.sleep(0.05)
        small, _ = _timed_get(instructor, f"/instructor/submissions/{course['heading']}/notebook")
        remade, body = big.result()
    assert f"500 code cells shown of {code_cells} in the file" in body
    assert small < 1.5 and remade < 20.0, (small, remade)   # before: minutes, and every other view waited
    again, _ = _timed_get(instructor, f"/instructor/submissions/{course['big']}/notebook")
    assert again < 1.0, again                # made once, then read


def test_no_markdown_cell_hides_a_real_code_cell_in_the_browser(browser: Browser, stack: Stack,  # noqa: F811
                                                                course: dict) -> None:
    context, page = new_page(browser, stack)
    sign_in(page, INSTRUCTOR)
    page.goto(f"/instructor/submissions/{course['concealing']}")
    frame = page.frame_locator("#notebook")
    code = frame.locator("section.nbv-code")
    expect(code).to_have_count(len(solution_cells()))
    for i, source in enumerate(solution_cells()):
        expect(code.nth(i)).to_be_visible()
        expect(code.nth(i)).to_contain_text(source.strip().splitlines()[-1].strip())
        assert code.nth(i).bounding_box()["height"] > 20
    n = len(solution_cells())
    expect(frame.locator("#cell-count")).to_have_text(f"{n} code cells shown of {n} in the file")
    fakes = frame.get_by_text("return 0.0  # FAKE")
    expect(fakes).to_have_count(len(CONCEALERS))
    for i in range(len(CONCEALERS)):
        expect(fakes.nth(i)).to_be_visible()
        owner = fakes.nth(i).evaluate("e => e.closest('section').className")
        assert owner == "nbv-cell nbv-markdown"
    image = frame.locator("section.nbv-markdown img[src^='data:image/png']")
    expect(image).to_be_visible()
    assert image.evaluate("i => i.naturalWidth") == 1
    screenshot(page, "concealing_notebook")
    context.close()


def test_a_result_page_reads_grading_s_reference_curve_and_draws_nothing(
        instructor: httpx.Client, stack: Stack, course: dict) -> None:  # noqa: F811
    submission = course["concealing"]
    with stack.client(course["token"]) as api:
        report = api.get(f"/api/submissions/{submission}").json()["report"]
    assert report["training"]["reference"]["loss"]           # grading's own reference run, in the report
    with stack.store().sessions() as s:
        made = {r.name: r.made_at for r in s.query(Rendering).filter_by(submission_id=submission)}
    assert set(made) == {"notebook", "plot:training", "plot:gradient"}     # made by the worker, for every language
    with ThreadPoolExecutor(12) as pool:
        views = list(pool.map(lambda i: _timed_get(instructor, f"/submissions/{submission}", LANGUAGES[i % 4]),
                              range(12)))
    assert max(s for s, _ in views) < 8.0, [s for s, _ in views]   # before: 17–19 s each, 12 first views
    alone, _ = _timed_get(instructor, f"/submissions/{submission}")
    assert alone < 1.5, alone                                        # before: 1.9 s of training, then ~0.6 s drawing
    svg_seconds, svg = _timed_get(instructor, f"/submissions/{submission}/plots/training.svg")
    assert svg.startswith("<svg") and svg_seconds < 1.0
    with stack.store().sessions() as s:
        after = {r.name: r.made_at for r in s.query(Rendering).filter_by(submission_id=submission)}
    assert after == made                                       # nothing drawn again


def test_a_report_made_before_the_reference_curve_is_drawn_once_without_training(
        instructor: httpx.Client, stack: Stack, course: dict) -> None:  # noqa: F811
    submission = course["heading"]
    with stack.store().sessions.begin() as s:
        result = s.query(Result).filter_by(submission_id=submission).one()
        old = {**result.report, "training": {**result.report["training"], "reference": None}}
        s.execute(update(Result).where(Result.submission_id == submission).values(report=old))
    _forget_views(stack, submission)
    page, _ = _timed_get(instructor, f"/submissions/{submission}")
    assert page < 1.0, page                                    # before: 1.9 s of training on first view
    drawn, svg = _timed_get(instructor, f"/submissions/{submission}/plots/training.svg")
    read, again = _timed_get(instructor, f"/submissions/{submission}/plots/training.svg")
    assert svg.startswith("<svg") and again == svg and read < 0.5 and drawn < 10, (drawn, read)

