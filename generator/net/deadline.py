"""Wall-clock deadlines that hold against servers trickling one byte at a time.

A socket timeout bounds each read, not the whole exchange: a server sending a byte a
second never trips it. So every socket opened or reused under a ``Deadline`` is shut down
by one watchdog thread when the deadline passes; the blocked read then returns at once
(headers, TLS handshake and body alike) and the caller sees ``Deadline.expired``.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


class Deadline:
    """One deadline (``time.monotonic`` seconds) and the sockets used under it."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = False

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                _cut(sock)
            elif not self._done:
                self._sockets.append(sock)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _cut(sock)

    def _finish(self) -> None:
        with self._lock:
            self._done = True
            self._sockets = []


def _cut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to cut


class _Watchdog:
    """One daemon thread for the whole process, sleeping until the nearest deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.at, next(self._counter), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="net-deadline", daemon=True)
                self._thread.start()
            if self._heap[0][2] is deadline:
                self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                at, _, deadline = self._heap[0]
                now = time.monotonic()
                if at > now:
                    self._wake.wait(at - now)
                    continue
                heapq.heappop(self._heap)
            deadline._fire()


_WATCHDOG = _Watchdog()


@contextmanager
def deadline_at(at: float) -> Iterator[Deadline]:
    """Sockets used by this thread inside the block are cut at ``at`` (monotonic seconds).

    Nested blocks keep the earlier deadline.
    """
    outer: Deadline | None = getattr(_local, "deadline", None)
    if outer is not None and outer.at <= at:
        yield outer
        return
    current = Deadline(at)
    _WATCHDOG.add(current)
    _local.deadline = current
    try:
        yield current
    finally:
        _local.deadline = outer
        current._finish()


def track(sock: socket.socket) -> None:
    """Put ``sock`` under this thread's deadline, if any (called by the transport)."""
    current: Deadline | None = getattr(_local, "deadline", None)
    if current is not None:
        current.track(sock)


def current() -> Deadline | None:
    return getattr(_local, "deadline", None)
