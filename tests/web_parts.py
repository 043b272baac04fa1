"""Real parts for the browser tests: one service stack (redis-server, `grader serve`, one `grader worker`)
for the module, Debian's Chromium driven by Playwright, and a hostile notebook. Everything stops after."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pytest

from grader import catalogue
from grader.config import ASSIGNMENTS_DIR
from tests.conftest import require, require_module
from tests.notebooks import solution_cells
from tests.service_parts import INSTRUCTOR, RedisServer, Stack, service_env, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOSTILE_HOST = "http://127.0.0.2:9"   # nothing listens there; a request to it is what the test watches for


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("web")
    redis = RedisServer(root / "redis")
    folder = root / "assignments"
    folder.mkdir()
    (folder / "backprop").symlink_to(ASSIGNMENTS_DIR / "backprop")
    data = root / "var"
    data.mkdir()
    service = Stack(service_env(data, f"sqlite:///{data / 'grader.sqlite3'}", redis.url, folder), data)
    try:
        service.start_api(timeout=120)   # a busy machine starts uvicorn slowly
        service.start_worker(concurrency=1)
        yield service
    finally:
        service.processes.stop(timeout=5)
        redis.stop()


sync_api = require_module("playwright.sync_api", "`make install` installs the dev extra's playwright")
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require(str(CHROMIUM), CHROMIUM.exists(), "`make install` installs Debian's chromium package")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser: Browser, stack: Stack, locale: str = "en-US", width: int = 1280) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=stack.url, locale=locale, viewport={"width": width, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(20_000)
    return context, context.new_page()


def sign_in(page: Page, token: str) -> None:
    page.goto("/signin")
    page.get_by_label(re.compile("|".join(map(re.escape, catalogue.table("pages")["token"].values())))).fill(token)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/signin" not in url)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_graded(stack: Stack, token: str, submission_id: str, timeout: float = 90) -> dict:
    return stack.wait_finished(token, [submission_id], timeout)[submission_id]


def hostile_notebook() -> bytes:
    """The solution's definitions, plus everything a notebook can carry to run script in a reader's browser."""
    nb = nbformat.v4.new_notebook()
    beacon = f"{HOSTILE_HOST}/hostile"
    nb.cells = [nbformat.v4.new_markdown_cell(
        "# 感想\n\nhostile markdown <script>alert('hostile-md')</script>"
        f"<img src=x onerror=\"alert('hostile-onerror')\"> <img src='{beacon}-img.png'>"
        "[click me](javascript:alert('hostile-link')) <a href='javascript:alert(1)'>js link</a>"
        "<svg onload=\"alert('hostile-svg-onload')\"><script>alert('hostile-svg')</script></svg>"
        f"<iframe src='{beacon}-iframe'></iframe><style>body {{ background: url('{beacon}-css') }}</style>"
        "<body onload=\"alert('hostile-body')\">")]
    outputs = [
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert('hostile-js-output')",
                                                     "text/plain": "<IPython.core.display.Javascript object>"}),
        nbformat.v4.new_output("display_data", data={"text/html": (
            "<script>console.log('hostile-html-script'); alert('hostile-html')</script>"
            f"<img src='{beacon}-output.png' onload=\"alert('hostile-onload')\">"
            "<div onmouseover=\"alert('hostile-hover')\">hover</div>")}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": (
            "<svg xmlns='http://www.w3.org/2000/svg' onload=\"alert('hostile-svg-output')\">"
            f"<script>alert('hostile-svg-script'); fetch('{beacon}-svg')</script>"
            f"<image href='{beacon}-svg-image.png'/></svg>")}),
    ]
    cells = [nbformat.v4.new_code_cell(source) for source in solution_cells()]
    cells[-1].outputs = outputs
    nb.cells += cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(nb).encode()


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


__all__ = ["stack", "browser", "new_page", "sign_in", "screenshot", "wait_graded", "hostile_notebook", "csv_rows",
           "INSTRUCTOR", "HOSTILE_HOST", "wait_until"]
