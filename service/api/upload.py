"""Reading one uploaded notebook from a multipart request, with a clear 4xx for every way it can be wrong."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile

from grader import feedback, intake

NOTEBOOK_TYPES = {"", "application/x-ipynb+json", "application/json", "application/octet-stream", "text/plain"}
MULTIPART_OVERHEAD = 64 * 1024


def too_large(size: int, max_bytes: int, lang: str) -> HTTPException:
    """413 with the intake's own refusal: the size, the limit and how to make the notebook smaller."""
    err = intake.oversize(size, max_bytes)
    return HTTPException(413, feedback.render(err.code, err.params, lang))


async def notebook_upload(request: Request, max_bytes: int, lang: str) -> tuple[str, bytes]:
    """(filename, bytes) of the multipart field `file`; 400/413/415 otherwise. Nothing is stored here."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(415, "send the notebook as multipart/form-data in the field 'file'")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + MULTIPART_OVERHEAD:
        raise too_large(int(length), max_bytes, lang)
    received = 0

    async def receive_within_limit():
        """The body as it arrives, refused once it outgrows the limit (chunked uploads have no length)."""
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > max_bytes + MULTIPART_OVERHEAD:
            raise too_large(received, max_bytes, lang)
        return message

    try:
        form = await Request(request.scope, receive_within_limit).form(max_files=1, max_fields=10)
    except HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is the client's malformed body
        raise HTTPException(400, f"malformed multipart body: {exc}") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(400, "the multipart field 'file' with one .ipynb file is required")
    filename = upload.filename or ""
    if not filename or any(c in filename for c in "/\\\0") or filename in {".", ".."}:
        raise HTTPException(400, "the file name must be a plain name such as homework.ipynb (no folders)")
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
