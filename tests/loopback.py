"""The one scripted HTTP server of the tests, on 127.0.0.1.

A test says what each path answers and then asks what the server was sent:

    server.route("/ok", Reply(200, b"<title>Fine</title>"))
    server.route("/flaky", [Reply(503), Reply(503), Reply(200)])   # one per request, the last repeats
    server.route("/slow", Raw(HEAD, repeat=b" ", trickle=True))     # bytes as they are, cut by the client
    server.route("/dyn", lambda request: Reply(404 if request.nth == 1 else 200))
    assert server.count("/flaky") == 3

It also serves a built site from a folder (under a path prefix, with the one root 404.html
for every missing address, as GitHub Pages serves a project site). One request per
connection (HTTP/1.0), so connections == requests and a counted request is one the client
really made.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

TRICKLE_TICK_S = 0.02  # one byte per tick: never long enough to trip a client's read timeout
HANG_BOUND_S = 30.0  # how long a silent or trickling answer lasts when a broken client never hangs up
FINE = b"<html><head><title>Fine</title></head><body><h1>Fine</h1></body></html>"
NOPE = b"<html><head><title>nope</title></head></html>"


@dataclass(frozen=True)
class Reply:
    """A whole HTTP answer. An ``ETag`` or ``Last-Modified`` header makes a matching
    conditional GET answer 304, as a static server does."""

    status: int = 200
    body: bytes = FINE
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"
    delay: float = 0.0  # seconds before the answer starts
    send_length: bool = True  # False: no Content-Length, the end of the body is the closed connection


@dataclass(frozen=True)
class Raw:
    """Bytes written as they are (no status line is added), then ``repeat`` over and over
    until the client hangs up, ``limit`` bytes of it are sent, or HANG_BOUND_S passes."""

    data: bytes
    repeat: bytes = b""
    trickle: bool = False  # ``repeat`` one byte per TRICKLE_TICK_S instead of as fast as the socket takes it
    limit: int = 10**9


@dataclass(frozen=True)
class Reset:
    """Close the connection with a TCP reset instead of an answer."""


@dataclass(frozen=True)
class Silent:
    """Read the request, never answer (until the server closes)."""


Answer = Reply | Raw | Reset | Silent


@dataclass
class Request:
    """One request as the server received it, and the status it was answered with."""

    method: str
    target: str  # the path with its query, as sent
    headers: Mapping[str, str]
    nth: int  # 1 for the first request to this path (query left out), 2 for the next, ...
    status: int | None = None  # None: not answered yet, or no status line (Raw, Reset, Silent)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


Script = Answer | Sequence[Answer] | Callable[[Request], Answer]


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server: Loopback

    site_folder = Path(os.devnull)  # set per server: ``self.server`` is not there yet in __init__

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, directory=str(self.site_folder), **kwargs)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.answer(self)

    def do_HEAD(self) -> None:
        self.server.answer(self)

    def serve_file(self) -> None:
        if self.command == "HEAD":
            super().do_HEAD()
        else:
            super().do_GET()

    def translate_path(self, path: str) -> str:
        prefix = self.server.prefix
        if not path.startswith(prefix):
            return super().translate_path("/\0outside-the-site")
        return super().translate_path("/" + path[len(prefix):])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = self.server.folder / "404.html" if self.server.folder is not None else None
        if code != 404 or not self.server.root_404 or page is None or not page.is_file():
            super().send_error(code, message, explain)
            return
        self.server.send(self, Reply(404, page.read_bytes()))


class Loopback(ThreadingHTTPServer):
    """See the module's docstring. Unrouted paths get ``fallback``: the folder's file when
    the server has a folder, else a 404 page."""

    daemon_threads = True

    def __init__(
        self,
        folder: Path | None = None,
        prefix: str = "/",
        root_404: bool = False,
        fallback: Script = Reply(404, NOPE),
    ) -> None:
        self.folder = folder
        self.prefix = prefix
        self.root_404 = root_404
        self.fallback = fallback
        self.routes: dict[str, Script] = {}
        self.log: list[Request] = []
        self.active = 0
        self.max_active = 0  # requests between arrival and the start of their answer, at most at once
        self.sent = 0  # bytes of Raw.repeat sent
        self.cut = threading.Event()  # a client hung up before the answer was whole
        self.stop = threading.Event()
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"site_folder": folder or Path(os.devnull)})
        super().__init__(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the script

    def route(self, path: str, script: Script) -> None:
        self.routes[path] = script

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server_address[1]}{path}"

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base(self) -> str:
        return self.url(self.prefix)

    # ------------------------------------------------------------------ what was asked

    def count(self, path: str | None = None, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.log if (path is None or r.path == path) and (method is None or r.method == method))

    def requests(self, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.log if path is None or r.path == path]

    def hosts(self) -> list[str | None]:
        return [r.header("Host") for r in self.requests()]

    def agents(self) -> list[str | None]:
        return [r.header("User-Agent") for r in self.requests()]

    # ------------------------------------------------------------------ answering

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets and aborted bodies are the point of several tests

    def answer(self, handler: _Handler) -> None:
        path = urlsplit(handler.path).path
        with self._lock:
            nth = 1 + sum(1 for r in self.log if r.path == path)
            request = Request(handler.command, handler.path, dict(handler.headers.items()), nth)
            self.log.append(request)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        script = self.routes.get(path)
        if script is None and self.folder is not None:
            with self._lock:
                self.active -= 1
            handler.serve_file()
            return
        answer = _pick(script if script is not None else self.fallback, request)
        try:
            if isinstance(answer, Reply) and answer.delay:
                self.stop.wait(answer.delay)
        finally:
            with self._lock:
                self.active -= 1
        status = self.send(handler, answer, request)
        with self._lock:
            request.status = status

    def send(self, handler: _Handler, answer: Answer, request: Request | None = None) -> int | None:
        try:
            if isinstance(answer, Reply):
                return self._reply(handler, answer, request)
            if isinstance(answer, Raw):
                self._raw(handler, answer)
            elif isinstance(answer, Reset):
                handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                handler.close_connection = True
                handler.connection.close()
            else:
                self.stop.wait(HANG_BOUND_S)
        except OSError:
            self.cut.set()
        return None

    @staticmethod
    def _reply(handler: _Handler, reply: Reply, request: Request | None) -> int:
        status = reply.status
        headers = {k.lower(): v for k, v in reply.headers.items()}
        if status == 200 and request is not None and request.method in ("GET", "HEAD"):
            etag, modified = headers.get("etag"), headers.get("last-modified")
            if (etag and request.header("If-None-Match") == etag) or (modified and request.header("If-Modified-Since") == modified):
                status = 304
        body = reply.body if status not in (204, 304) else b""
        handler.send_response(status)
        if reply.content_type is not None:
            handler.send_header("Content-Type", reply.content_type)
        if reply.send_length:
            handler.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
        return status

    def _raw(self, handler: _Handler, raw: Raw) -> None:
        if raw.repeat:
            # a small send buffer: the client's refusal to read reaches the server soon
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
        handler.wfile.write(raw.data)
        if not raw.repeat:
            return
        stop_at = time.monotonic() + HANG_BOUND_S
        total = 0
        while total < raw.limit and time.monotonic() < stop_at and not self.stop.is_set():
            pieces = [bytes([b]) for b in raw.repeat] if raw.trickle else [raw.repeat]
            for piece in pieces:
                handler.wfile.write(piece)
                total += len(piece)
                with self._lock:
                    self.sent += len(piece)
                if raw.trickle:
                    time.sleep(TRICKLE_TICK_S)

    def close(self) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()


def _pick(script: Script, request: Request) -> Answer:
    if isinstance(script, Reply | Raw | Reset | Silent):
        return script
    if callable(script):
        return script(request)
    return script[min(request.nth, len(script)) - 1]


def serve(folder: Path, prefix: str = "/", root_404: bool = False) -> Loopback:
    """A server for a built site; the caller closes it."""
    return Loopback(folder=folder, prefix=prefix, root_404=root_404)
