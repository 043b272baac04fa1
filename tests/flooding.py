"""An attacker's HTTP client for the flood tests: a raw socket that pours a huge body into a route as fast as
the server takes it and stops at the first answer, while a sampler watches the server process's memory
and the temporary files it holds open."""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MB = 2**20
CHUNK = b"a" * MB


@dataclass(frozen=True)
class Flood:
    status: int | None        # the answer's status, None when the server never answered
    seconds: float            # from the first byte sent to the answer
    sent: int                 # body bytes the server took before answering
    rss_growth: int           # the process's peak resident memory during the flood, above its level before
    largest_temp_file: int    # the largest temporary file the process held open meanwhile


def api_process(serve: int, timeout: float = 60) -> int:
    """The pid of the API process `grader serve` supervises (uvicorn, a child of its own)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in Path("/proc").iterdir():
            try:
                stat = (proc / "stat").read_text()
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if proc.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == serve and b"uvicorn" in cmdline:
                return int(proc.name)
        time.sleep(0.2)
    raise AssertionError(f"no API process under grader serve ({serve})")


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def temp_files(pid: int, folder: Path) -> int:
    """The size of the largest file under `folder` (its temp dir) the process has open, deleted ones too."""
    largest = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(folder)):
                largest = max(largest, os.stat(fd).st_size)
        except OSError:
            continue
    return largest


class Sampler:
    """Peaks of RSS and temp-file size of one process, sampled every few milliseconds in a thread."""

    def __init__(self, pid: int, temp_dir: Path) -> None:
        self.pid, self.temp_dir = pid, temp_dir
        self.base = rss(pid)
        self.peak_rss, self.peak_temp = self.base, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, rss(self.pid))
            self.peak_temp = max(self.peak_temp, temp_files(self.pid, self.temp_dir))
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def body_of(kind: str, size: int) -> tuple[str, list[bytes]]:
    """(content type, pieces of about 1 MB each) of a body of `size` bytes or a little more."""
    count = size // MB
    if kind == "json":
        return "application/json", [b'{"policy": "', *[CHUNK] * count, b'"}']
    if kind == "fields":    # a form of many 1 MB fields, every value the same piece (no 300 MB built per flood)
        field = b"a" * (MB - 16)
        pieces = [piece for i in range(count) for piece in (b"&f%d=" % i, field)]
        return "application/x-www-form-urlencoded", [b"lang=en", *pieces]
    boundary = "flood"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.ipynb"\r\n'
            'Content-Type: application/x-ipynb+json\r\n\r\n').encode()
    return f"multipart/form-data; boundary={boundary}", [head, *[CHUNK] * count, f"\r\n--{boundary}--\r\n".encode()]


def flood(port: int, method: str, path: str, kind: str, chunked: bool, pid: int, temp_dir: Path,
          size: int = 300 * MB, headers: dict[str, str] | None = None, timeout: float = 60) -> Flood:
    """Send `size` bytes of body (declared in Content-Length, or chunked) and read the first answer."""
    content_type, pieces = body_of(kind, size)
    length = sum(map(len, pieces))
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
            "Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}"]
    with socket.create_connection(("127.0.0.1", port)) as sock, Sampler(pid, temp_dir) as sampler:
        sock.setblocking(False)
        selector = selectors.DefaultSelector()
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        pending = memoryview(("\r\n".join(head) + "\r\n\r\n").encode())
        sent, next_piece, answer, started = 0, 0, b"", time.monotonic()
        deadline = started + timeout
        while b"\r\n" not in answer and time.monotonic() < deadline:
            for _, events in selector.select(timeout=0.5):
                if events & selectors.EVENT_READ:
                    try:
                        got = sock.recv(65536)
                    except (ConnectionResetError, BlockingIOError):
                        got = b""
                    answer += got
                    if not got and b"\r\n" not in answer:
                        deadline = 0          # closed without an answer
                elif events & selectors.EVENT_WRITE:
                    if not pending and next_piece < len(pieces):
                        piece = pieces[next_piece]
                        next_piece += 1
                        pending = memoryview(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    elif not pending and chunked and next_piece == len(pieces):
                        pending, next_piece = memoryview(b"0\r\n\r\n"), next_piece + 1
                    if pending:
                        try:
                            done = sock.send(pending)
                            sent, pending = sent + done, pending[done:]
                        except (BrokenPipeError, ConnectionResetError):
                            selector.modify(sock, selectors.EVENT_READ)
                    else:
                        selector.modify(sock, selectors.EVENT_READ)
        seconds = time.monotonic() - started
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
    return Flood(status, seconds, sent, sampler.peak_rss - sampler.base, sampler.peak_temp)
