"""Per-host politeness: at most ``limit`` requests in flight per host, starts spaced."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from generator.links.collect import LinkTarget
from generator.links.config import (
    ADAPTIVE_INTERVAL_CAP_S,
    ADAPTIVE_INTERVAL_S,
    CheckerConfig,
)


def host_key(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@dataclass
class _HostState:
    limit: int
    interval: float
    wakeup: threading.Condition
    base_interval: float = 0.0  # the host's own policy; ``interval`` grows above it on 429
    active: int = 0
    next_start: float = 0.0
    waiting: int = 0  # requests of URLs already under way, waiting for a slot
    pending: deque[LinkTarget] = field(default_factory=deque)


# A lost wake-up can only delay a worker by this much, never stall the run.
GATE_BACKSTOP_S = 0.5


class HostGate:
    """Per-host slots shared by all workers, and the queue of URLs waiting for them.

    A worker asks ``next_job`` for work and gets a URL whose host can take a request now,
    with that request's slot already taken, so no worker sits blocked behind a busy host.
    Later requests of the same URL (fallbacks, retries, redirect hops) take slots through
    ``acquire`` and go before new URLs. Each freed slot wakes one thread, not the whole pool.
    """

    def __init__(self, config: CheckerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        # the clock is a parameter so that a test can check the schedule without waiting for it
        self._clock = clock
        self._config = config
        self._lock = threading.Lock()
        self._dispatch = threading.Condition(self._lock)
        self._hosts: dict[str, _HostState] = {}

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            policy = self._config.policy_for(host)
            state = self._hosts[host] = _HostState(
                policy.limit, policy.interval, threading.Condition(self._lock), base_interval=policy.interval
            )
        return state

    @staticmethod
    def _take(state: _HostState, now: float) -> None:
        state.active += 1
        state.next_start = now + state.interval

    def enqueue(self, target: LinkTarget) -> None:
        with self._lock:
            self._state(host_key(target.url)).pending.append(target)

    def drop_pending(self) -> None:
        with self._lock:
            for state in self._hosts.values():
                state.pending.clear()
            self._dispatch.notify_all()

    def next_job(self) -> tuple[str, LinkTarget] | None:
        """Block until some host can start a request; None when no work is left."""
        with self._lock:
            while True:
                now = self._clock()
                best, wake, waiting = self._pick(now)
                if not waiting:
                    return None
                if best is not None:
                    host, state = best
                    self._take(state, now)
                    return host, state.pending.popleft()
                self._dispatch.wait(wake - now)

    def _pick(self, now: float) -> tuple[tuple[str, _HostState] | None, float, bool]:
        """The host to start now (if any), when to look again, and whether any work waits."""
        best: tuple[str, _HostState] | None = None
        wake = now + GATE_BACKSTOP_S
        waiting = False
        for host, state in self._hosts.items():
            if not state.pending:
                continue
            waiting = True
            if state.active >= state.limit or state.waiting:
                continue
            if now < state.next_start:
                wake = min(wake, state.next_start)
                continue
            # The host with the most work left goes first: it sets the run's length.
            if best is None or len(state.pending) > len(best[1].pending):
                best = (host, state)
        return best, wake, waiting

    def due(self) -> float | None:
        """When (on the gate's clock) ``next_job`` can next start a request without waiting
        for a slot to be released; None when no work is queued. The gate's own schedule."""
        with self._lock:
            now = self._clock()
            best, wake, waiting = self._pick(now)
            if not waiting:
                return None
            if best is not None:
                return now
            free = [s.next_start for s in self._hosts.values() if s.pending and s.active < s.limit and not s.waiting]
            return min(free) if free else wake

    def acquire(self, host: str, deadline: float) -> bool:
        with self._lock:
            state = self._state(host)
            state.waiting += 1
            try:
                while True:
                    now = self._clock()
                    if state.active < state.limit and now >= state.next_start:
                        self._take(state, now)
                        return True
                    if now >= deadline:
                        return False
                    timeout = min(deadline - now, GATE_BACKSTOP_S)
                    if state.active < state.limit:
                        timeout = min(timeout, state.next_start - now)
                    state.wakeup.wait(timeout)
            finally:
                state.waiting -= 1
                if state.active < state.limit and state.pending and not state.waiting:
                    self._dispatch.notify()

    def slow_down(self, host: str, retry_after: float | None) -> None:
        """The host said 429 (or 503 with Retry-After): space its requests out, doubling up
        to a cap, and start none before the wait it asked for (within the cap)."""
        with self._lock:
            state = self._state(host)
            state.interval = min(max(state.interval * 2, ADAPTIVE_INTERVAL_S), ADAPTIVE_INTERVAL_CAP_S)
            wait = max(state.interval, min(retry_after or 0.0, ADAPTIVE_INTERVAL_CAP_S))
            state.next_start = max(state.next_start, self._clock() + wait)

    def speed_up(self, host: str) -> None:
        """The host answered without asking for slower: halve the spacing it earned, back
        to its own policy's once small."""
        state = self._hosts.get(host)
        if state is None or state.interval <= state.base_interval:
            return  # the usual case, decided without the lock every worker shares
        with self._lock:
            base = state.base_interval
            if state.interval > base:
                state.interval = state.interval / 2 if state.interval / 2 >= ADAPTIVE_INTERVAL_S else base

    def release(self, host: str) -> None:
        with self._lock:
            state = self._hosts[host]
            state.active -= 1
            if state.waiting:
                state.wakeup.notify()
            elif state.pending:
                self._dispatch.notify()

