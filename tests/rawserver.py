"""A raw TCP server on 127.0.0.1 for network tests: answers as told, trickles on demand."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

SLOW_TICK_S = 0.02  # one byte per tick: never long enough to trip a read timeout


class RawServer:
    """A TCP server on 127.0.0.1 answering each connection with ``behaviour(conn)``;
    records the Host headers it saw and whether the client cut a trickle short."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.hosts: list[str] = []
        self.agents: list[str] = []
        self.cut = threading.Event()
        self.sent = 0
        self.behaviour: Callable[[socket.socket], object] = self.ok
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            conn.settimeout(5)
            try:
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
            except OSError:
                return
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("host:"):
                    self.hosts.append(line.split(":", 1)[1].strip())
                if line.lower().startswith("user-agent:"):
                    self.agents.append(line.split(":", 1)[1].strip())
            self.behaviour(conn)

    def ok(self, conn: socket.socket) -> None:
        body = b"<html><title>Fine</title></html>"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))

    def trickle(self, prefix: bytes, endless: bytes) -> None:
        """Send ``prefix`` at once, then ``endless`` one byte per tick until the client goes."""

        def behaviour(conn: socket.socket) -> None:
            try:
                conn.sendall(prefix)
                stop_at = time.monotonic() + 30  # a bound for a broken client; never reached when it works
                while time.monotonic() < stop_at:
                    for byte in endless:
                        conn.sendall(bytes([byte]))
                        self.sent += 1
                        time.sleep(SLOW_TICK_S)
            except OSError:
                self.cut.set()

        self.behaviour = behaviour

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


