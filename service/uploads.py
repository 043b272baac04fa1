"""Taking a notebook upload, from the API and the upload page alike: the per-student rate limit, the multipart
body read within the size limit, the core's intake check, each with a clear 4xx; then stored and queued."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from grader import feedback, intake, reports
from service import lifecycle, offerings
from service.models import DEFAULT_COURSE, QUEUED, Submission
from service.services import Services

NOTEBOOK_TYPES = {"", "application/x-ipynb+json", "application/json", "application/octet-stream", "text/plain"}
MULTIPART_OVERHEAD = 64 * 1024
MAX_FILENAME_BYTES = 255   # what a file system allows in one name


def too_large(size: int, max_bytes: int, lang: str) -> HTTPException:
    """413 with the intake's own refusal: the size, the limit and how to make the notebook smaller."""
    err = intake.oversize(size, max_bytes)
    return HTTPException(413, feedback.render(err.code, err.params, lang))


async def accept(services: Services, request: Request, student: str, assignment: str, lang: str,
                 form_check: Callable[[FormData], None] | None = None, course: str = DEFAULT_COURSE) -> Submission:
    """The upload stored (`received`, with its late days) and queued, once it passed every check; else the first
    check's 4xx (HTTPException) and nothing is stored: the offering's dates for this student first (403 before
    it opens or after its close, read before the body), then the rest. The assignment is the caller's to have
    checked; `form_check` sees the parsed form first (the page's CSRF token, when it came in the body)."""
    dates = await run_in_threadpool(offerings.admit, services.store, course, assignment, student, lang)
    await run_in_threadpool(check_rate, services, student)
    max_bytes = services.settings.grader.max_notebook_bytes
    filename, blob = await notebook_upload(request, max_bytes, lang, form_check)
    try:
        await services.upload_check.check(blob, max_bytes)     # off the event loop, with a time limit
    except intake.IntakeError as err:
        raise HTTPException(422, feedback.render(err.code, err.params, lang)) from None
    submission = await run_in_threadpool(lifecycle.receive, services.store, student, assignment, filename, blob,
                                         course, dates)
    moved = await run_in_threadpool(lifecycle.take_turns, services.store, services.publisher, student,
                                    services.settings.max_active_per_student)
    if submission.id in moved:       # else it waits its turn, `received`
        submission.status = QUEUED
    return submission


def check_filename(filename: str) -> None:
    """400 unless a plain name of at most 255 bytes without control or bidirectional characters (which would
    rewrite a terminal's title or reorder what a report, a page or a spreadsheet shows)."""
    if not filename or any(c in filename for c in "/\\\0") or filename in {".", ".."}:
        raise HTTPException(400, "the file name must be a plain name such as homework.ipynb (no folders)")
    if len(filename.encode("utf-8", "surrogatepass")) > MAX_FILENAME_BYTES:
        raise HTTPException(400, f"the file name is longer than {MAX_FILENAME_BYTES} bytes; rename the file")
    if reports.has_control(filename):
        raise HTTPException(400, "the file name holds control or text-direction characters; rename the file "
                                 "with letters, digits and punctuation only")


def check_rate(services: Services, student: str) -> None:
    """At most `submissions_per_minute` upload attempts per student, refused ones included (an invalid
    notebook costs its try too), counted and checked in one atomic step; 429 with the seconds until the
    next one is allowed (a 429 itself is not counted)."""
    limit = services.settings.submissions_per_minute
    wait = services.store.admit_upload(student, timedelta(minutes=1), limit)
    if wait is not None:
        raise HTTPException(429, f"at most {limit} submissions a minute; try again shortly",
                            headers={"Retry-After": str(max(1, math.ceil(wait)))})


async def notebook_upload(request: Request, max_bytes: int, lang: str,
                          form_check: Callable[[FormData], None] | None = None) -> tuple[str, bytes]:
    """(filename, bytes) of the multipart field `file`; 400/413/415 otherwise. Nothing is stored here. The
    file's own size is checked here; the body's, at the edge."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(415, "send the notebook as multipart/form-data in the field 'file'")
    try:     # the body's size is the edge's to bound (service/edges.py), before and while it arrives
        form = await request.form(max_files=1, max_fields=10)
    except HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is the client's malformed body
        raise HTTPException(400, f"malformed multipart body: {exc}") from None
    if form_check:
        form_check(form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(400, "the multipart field 'file' with one .ipynb file is required")
    filename = upload.filename or ""
    check_filename(filename)
    if not filename.lower().endswith(".ipynb"):
        raise HTTPException(415, "only Jupyter notebooks (.ipynb) are accepted")
    if (upload.content_type or "").split(";")[0].strip().lower() not in NOTEBOOK_TYPES:
        raise HTTPException(415, f"a notebook is JSON, not {upload.content_type}")
    blob = await upload.read(max_bytes + 1)
    await form.close()
    if len(blob) > max_bytes:
        raise too_large(len(blob), max_bytes, lang)
    if not blob:
        raise HTTPException(400, "the uploaded file is empty")
    return filename, blob
