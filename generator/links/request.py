"""One URL: requests under the host's slot, redirects followed by hand, retries, one deadline.

Downloads and samples are asked with HEAD, then a streamed GET when HEAD is refused (403,
405, 501) or the answer is an HTML page; pages and URLs with a ``#fragment`` go straight to
a GET, because the soft-404 and anchor checks need the body anyway. Every redirect hop goes
through the address guard (``generator.net``). The whole check of a URL -- every hop, retry
and body byte -- is under one wall-clock deadline that also cuts servers trickling data.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.client import IncompleteRead, RemoteDisconnected
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from urllib3.exceptions import (
    HTTPError,
    NameResolutionError,
    ProtocolError,
    ReadTimeoutError,
)

from generator.links.collect import LinkTarget
from generator.links.config import (
    ACCEPT,
    DRAIN_BYTES,
    HEAD_FALLBACK_STATUSES,
    HEAD_FIRST_ROLES,
    PERMANENT_REDIRECTS,
    REDIRECT_STATUSES,
    CheckerConfig,
)
from generator.links.page import checkable_fragment, is_html, read_page
from generator.links.ratelimit import HostGate, host_key
from generator.links.verdict import Answer, Failure, LinkResult, Verdict, judge, phrase
from generator.net.deadline import Deadline, deadline_at
from generator.net.guard import GuardError, LookupFailed
from generator.net.policy import (
    RETRY_AFTER_CAP_S,
    RETRY_STATUSES,
    retry_after_seconds,
    retry_wait,
)
from generator.net.transport import Transport


class _SlotTimeout(Exception):
    """No slot of the host came free before the deadline."""


def without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def _wants_body(target: LinkTarget, fragment: str | None) -> bool:
    if fragment is not None:
        return True
    return not target.sources or any(s.role not in HEAD_FIRST_ROLES for s in target.sources)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (urllib3 nests the socket error deep)."""
    stack = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        stack.extend(w for w in wrapped if isinstance(w, BaseException))


def short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."


def classify(exc: BaseException, config: CheckerConfig) -> Failure:
    """A request exception as a verdict; ``network`` marks failures no server took part in."""
    causes = list(_causes(exc))
    if isinstance(exc, requests.exceptions.SSLError):
        return Failure(Verdict.BROKEN, f"TLS failure: {short(exc)}", retryable=False)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure(Verdict.TRANSIENT, f"no connection within {config.connect_timeout:g} s", True, network=True)
    if isinstance(exc, requests.exceptions.ReadTimeout) or any(
        isinstance(c, (TimeoutError, ReadTimeoutError)) for c in causes
    ):
        return Failure(Verdict.TRANSIENT, f"no answer within {config.read_timeout:g} s", retryable=True)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema)):
        return Failure(Verdict.BROKEN, f"invalid URL: {short(exc)}", retryable=False)
    for cause in causes:
        if isinstance(cause, (socket.gaierror, NameResolutionError)):
            return Failure(Verdict.BROKEN, LookupFailed("host not found (DNS)").reason, False, network=True)
        if isinstance(cause, ConnectionRefusedError):
            return Failure(Verdict.BROKEN, "connection refused: nothing answers at that address", False, network=True)
        if isinstance(cause, OSError) and cause.errno in (101, 113):  # ENETUNREACH, EHOSTUNREACH
            return Failure(Verdict.TRANSIENT, "network unreachable", retryable=False, network=True)
    for cause in causes:
        if isinstance(cause, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
            return Failure(Verdict.TRANSIENT, "connection reset by the server", retryable=True)
        if isinstance(cause, (RemoteDisconnected, IncompleteRead, ProtocolError)):
            return Failure(Verdict.TRANSIENT, "the server closed the connection without a full answer", retryable=True)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return Failure(Verdict.TRANSIENT, f"connection failed: {short(exc)}", retryable=True)
    return Failure(Verdict.TRANSIENT, f"request failed: {short(exc)}", retryable=False)


def _finish(response: requests.Response) -> None:
    """Give the connection back for reuse when the body is (or cheaply can be) read to its
    end; otherwise close it. Closing after every unread error body halves keep-alive."""
    raw = response.raw
    try:
        if not raw.closed:
            remaining = raw.length_remaining
            if remaining is None or remaining > DRAIN_BYTES:
                response.close()
                return
            raw.drain_conn()
        raw.release_conn()
    except (OSError, requests.exceptions.RequestException, ProtocolError, ReadTimeoutError):
        response.close()


class Checker:
    """Checks URLs one after another; one per worker thread, all sharing one transport."""

    def __init__(
        self, transport: Transport, gate: HostGate, config: CheckerConfig, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._sleep = sleep
        self._transport = transport
        self._gate = gate
        self._config = config
        self._rng = random.Random()
        self._held: str | None = None
        self._sent = 0
        self._deadline: Deadline | None = None

    def check(self, target: LinkTarget, held_host: str | None) -> LinkResult:
        self._held = held_host
        self._sent = 0
        started = time.monotonic()
        try:
            with deadline_at(started + self._config.deadline_per_url) as self._deadline:
                verdict, answer, reason = self._check(target)
        finally:
            if self._held is not None:
                self._gate.release(self._held)
                self._held = None
        expected = answer.status is not None and answer.status in target.expect
        if expected and answer.status is not None:
            reason = f"answered {phrase(answer.status)}, as the data declares"
        return LinkResult(
            url=target.url,
            verdict=verdict,
            http_status=answer.status,
            final_url=answer.final_url,
            attempts=self._sent,
            elapsed_s=time.monotonic() - started,
            reason=reason,
            sources=target.sources,
            expected=expected,
            network_failure=answer.failure is not None and answer.failure.network,
        )

    def _late(self) -> Failure:
        return Failure(Verdict.TRANSIENT, f"gave up: the {self._config.deadline_per_url:g} s deadline passed", False)

    def _check(self, target: LinkTarget) -> tuple[Verdict, Answer, str]:
        scheme = urlsplit(target.url).scheme.lower()
        if scheme not in ("http", "https"):
            return Verdict.SKIPPED, Answer(), f"{scheme or 'scheme-less'} links are not checked"
        fragment = checkable_fragment(target.url)
        method = "GET" if _wants_body(target, fragment) else "HEAD"
        retry = 0
        gave_up = ""
        while True:
            answer = self._follow(method, target.url, fragment)
            if method == "HEAD" and self._head_is_not_enough(answer):
                method = "GET"
                answer = self._follow(method, target.url, fragment)
            if not self._retryable(answer, target.expect) or retry >= self._config.retries:
                break
            wait = retry_wait(retry, self._config.backoff_base, answer.retry_after, self._rng)
            if wait is None:
                gave_up = (
                    f"; Retry-After asks for {answer.retry_after:g} s, more than the "
                    f"{RETRY_AFTER_CAP_S:g} s cap, so not asked again"
                )
                break
            assert self._deadline is not None
            if wait >= self._deadline.remaining():
                gave_up = f"; no time left for another try within {self._config.deadline_per_url:g} s"
                break
            self._sleep(wait)  # no host slot is held while sleeping
            retry += 1
            method = "GET"  # a server that failed a HEAD may only mishandle HEAD
        verdict, reason = judge(answer, fragment)
        if verdict in (Verdict.TRANSIENT, Verdict.BLOCKED) and retry:
            reason += f" (after {retry + 1} tries)"
        return verdict, answer, reason + gave_up

    @staticmethod
    def _head_is_not_enough(answer: Answer) -> bool:
        if answer.failure is not None or answer.status is None:
            return False
        if answer.status in HEAD_FALLBACK_STATUSES:
            return True
        return 200 <= answer.status < 300 and is_html(answer.content_type)

    @staticmethod
    def _retryable(answer: Answer, expect: frozenset[int]) -> bool:
        if answer.failure is not None:
            return answer.failure.retryable
        if answer.challenge or answer.status in expect:
            return False
        return answer.status in RETRY_STATUSES

    @contextmanager
    def _exchange(self, method: str, url: str) -> Iterator[requests.Response]:
        """One request under its host's slot; the slot is held until the body is done."""
        assert self._deadline is not None
        host = host_key(url)
        # Resolve (once per run) before taking a slot: a slow or failing look-up must not
        # hold back the host's other URLs.
        self._transport.guard.vet(urlsplit(url).hostname or "")
        if self._held == host:
            self._held = None
        else:
            if self._held is not None:
                self._gate.release(self._held)
                self._held = None
            if not self._gate.acquire(host, self._deadline.at):
                raise _SlotTimeout
        try:
            remaining = self._deadline.remaining()
            if remaining <= 0:
                raise _SlotTimeout
            self._sent += 1
            response = self._transport.send(
                method,
                without_fragment(url),
                headers={"Accept": ACCEPT},
                timeout=(min(self._config.connect_timeout, remaining), min(self._config.read_timeout, remaining)),
            )
            try:
                yield response
            finally:
                _finish(response)
        finally:
            self._gate.release(host)

    def _follow(self, method: str, url: str, fragment: str | None) -> Answer:
        assert self._deadline is not None
        current = url
        seen = [without_fragment(url)]
        moved_to: str | None = None
        still_permanent = True
        for _ in range(self._config.max_redirects + 1):
            try:
                with self._exchange(method, current) as response:
                    status = response.status_code
                    location = response.headers.get("Location")
                    if status in REDIRECT_STATUSES and location:
                        target = urljoin(current, location.strip())
                        if not urlsplit(target).fragment and urlsplit(url).fragment:
                            target = urlunsplit(urlsplit(target)._replace(fragment=urlsplit(url).fragment))
                    else:
                        answer = self._answer(response, method, current, fragment, seen, moved_to)
                        if answer.status == 429 or (answer.status == 503 and answer.retry_after is not None):
                            self._gate.slow_down(host_key(current), answer.retry_after)
                        elif answer.status is not None and answer.status < 500:
                            self._gate.speed_up(host_key(current))
                        return answer
            except _SlotTimeout:
                return Answer(failure=self._late(), hops=tuple(seen[1:]), moved_to=moved_to)
            except GuardError as exc:
                failure = Failure(Verdict.BROKEN, exc.reason, False, network=isinstance(exc, LookupFailed))
                if current != url:
                    failure = replace(failure, reason=f"redirects to {current}, but {exc.reason}", network=False)
                return Answer(failure=failure, hops=tuple(seen[1:]), moved_to=moved_to)
            except requests.exceptions.RequestException as exc:
                failure = self._late() if self._deadline.expired else classify(exc, self._config)
                if current != url:
                    failure = replace(failure, reason=f"redirects to {current}, which failed: {failure.reason}", network=False)
                return Answer(failure=failure, hops=tuple(seen[1:]), moved_to=moved_to)
            if status in PERMANENT_REDIRECTS and still_permanent:
                moved_to = target
            else:
                still_permanent = False
            if status == 303 and method != "HEAD":
                method = "GET"
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                return Answer(
                    status=status,
                    final_url=target,
                    hops=tuple(seen[1:]) + (target,),
                    failure=Failure(Verdict.SKIPPED, f"redirects to {target}, which is not checked", False),
                )
            key = without_fragment(target)
            if key in seen:
                chain = " -> ".join([*seen, key])
                return Answer(
                    status=status,
                    final_url=target,
                    hops=tuple(seen[1:]),
                    failure=Failure(Verdict.BROKEN, f"redirect loop: {chain}", retryable=False),
                )
            seen.append(key)
            current = target
        return Answer(
            status=status,
            final_url=current,
            hops=tuple(seen[1:]),
            failure=Failure(Verdict.BROKEN, f"more than {self._config.max_redirects} redirects", retryable=False),
        )

    def _answer(
        self,
        response: requests.Response,
        method: str,
        url: str,
        fragment: str | None,
        seen: list[str],
        moved_to: str | None,
    ) -> Answer:
        assert self._deadline is not None
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        page = None
        failure: Failure | None = None
        body_error: str | None = None
        if method == "GET" and 200 <= status < 300 and is_html(content_type):
            try:
                page = read_page(response, content_type, fragment, self._config, self._deadline)
            except (requests.exceptions.RequestException, HTTPError, OSError) as exc:
                body_error = classify(exc, self._config).reason
        if self._deadline.expired:
            # The watchdog cut a trickle: what arrived is not an answer, never "ok".
            failure = Failure(
                Verdict.TRANSIENT,
                f"gave up: the {self._config.deadline_per_url:g} s deadline passed while reading the answer",
                False,
            )
        return Answer(
            status=status,
            final_url=url,
            moved_to=moved_to,
            hops=tuple(seen[1:]),
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            content_type=content_type,
            challenge=response.headers.get("cf-mitigated", "").lower() == "challenge",
            page=page,
            body_error=body_error,
            failure=failure,
        )
