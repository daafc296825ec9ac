"""Link check stage: URLs with their positions -> one verdict per URL -> reports.

Input
    ``LinkTarget`` values: one per distinct URL, each keeping every place it appears
    (``LinkSource``: file, line, column, role, dataset id) and the HTTP statuses the data
    declares as expected (e.g. ``{403}`` for a download behind a registration wall).
    ``dedupe_targets`` builds them from (url, source, expect) triples;
    ``targets_from_url_file`` and ``targets_from_markdown`` extract them from a plain URL
    list and from hand-written Markdown pages.

Output
    ``check_links`` returns a ``LinkRun``: one ``LinkResult`` per URL, sorted by URL. A bad
    link is a value, never an exception. Verdicts:

    ok          2xx (after temporary redirects), content checks passed
    redirected  a permanent redirect (301/308) answered: "moved to X: update the data"
    broken      404, 410, other 4xx, DNS or TLS failure, refused connection, redirect loop,
                too many redirects, missing ``#anchor``, soft 404 (a 200 page whose title or
                main heading says "not found"), or a private address (see Guard)
    blocked     401, 403, 451, 429 after retries, a bot wall (Cloudflare challenge ...)
    transient   5xx, timeout or reset after retries, or the per-URL deadline passed
    skipped     not checked: offline, or not an http(s) link

    ``expected`` is true when the final status is one the data declares; such a result
    never fails the run. ``fails_run`` is true for an unexpected ``broken`` verdict, once
    the link has been broken for ``grace_runs`` consecutive runs recorded in the cache;
    without a cache there is no history, so a broken link fails the run at once.

How it asks
    A pool of worker threads, one ``requests.Session`` each. A shared per-host gate allows
    at most ``limit`` requests in flight per host and spaces their starts by ``interval``;
    work is handed to a worker only when its host has a free slot, so a slow or strict host
    (arxiv.org, kaggle.com ...) never ties up the pool. Downloads and samples are asked with
    HEAD, then a streamed GET when HEAD is refused (403, 405, 501) or the answer is an HTML
    page; pages (papers, homepages, code ...) and URLs with a ``#fragment`` go straight to a
    streamed GET, because the soft-404 and anchor checks need the body anyway. At most
    ``max_body_bytes`` of a body are read (``max_anchor_bytes`` while looking for an
    anchor). Redirects are followed by hand (at most ``max_redirects``, loops detected, each
    hop guarded). Only 408, 429, 5xx, timeouts and resets are retried, with exponential
    backoff and jitter; ``Retry-After`` is honoured up to ``retry_after_cap`` -- a server
    that asks for longer is not asked again in this run. ``attempts`` counts the HTTP
    requests sent for the URL, including fallbacks and redirect hops.

Guard
    Unless ``allow_private``, a host that resolves to any non-public address (private,
    loopback, link-local, reserved) is not fetched, on the first request or on any redirect
    hop. The verdict is ``broken``: a survey link that only resolves inside some network is
    useless to readers, and a change to the data must not make CI probe its own network.
    (requests resolves the name again when it connects; a DNS answer that changes between
    the two lookups is not defended against.)

Cache
    ``LinkCache`` keeps per URL the last verdict, last check, last success, first failure and
    consecutive failures (JSON, written atomically). Successes are reused within
    ``cache_ttl``; failures are always checked again. Offline runs leave it untouched.

Reports
    ``format_report`` renders text, JSON, Markdown (CI job summary) or GitHub annotations;
    ``load_report`` reads the JSON report back (the site shows link status from it).
"""

from __future__ import annotations

import codecs
import email.utils
import html
import ipaddress
import json
import os
import queue
import random
import re
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from http import HTTPStatus
from http.client import IncompleteRead, RemoteDisconnected
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from generator.progress import ProgressBar
from urllib3.exceptions import NameResolutionError, ProtocolError, ReadTimeoutError

from generator.problems import LoadError, Problem

# ---------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BROKEN = 3

PROJECT_NAME = "sku-survey"
PROJECT_URL = "https://github.com/sku-survey/sku-survey"
USER_AGENT = f"{PROJECT_NAME}-linkcheck/0.1 (+{PROJECT_URL}; link checker of a survey of SKU-level product-image datasets)"
ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 20.0
DEADLINE_PER_URL_S = 90.0
MAX_BODY_BYTES = 16 * 1024  # enough for <title> and the first <h1> of nearly every page
MAX_ANCHOR_BYTES = 512 * 1024  # anchors sit anywhere; past this an anchor is "not verified", not missing
MAX_REDIRECTS = 10
RETRIES = 2
BACKOFF_BASE_S = 1.0
RETRY_AFTER_CAP_S = 30.0
PER_HOST_LIMIT = 2
PER_HOST_INTERVAL_S = 0.25
WORKERS = 32
CACHE_TTL = timedelta(days=3)
GRACE_RUNS = 2


@dataclass(frozen=True)
class HostPolicy:
    """How hard one host may be asked: requests in flight, and seconds between starts."""

    limit: int
    interval: float


# Hosts known to block or throttle checkers; a suffix matches subdomains too.
DEFAULT_HOST_OVERRIDES: Mapping[str, HostPolicy] = MappingProxyType(
    {
        "arxiv.org": HostPolicy(limit=1, interval=3.0),  # arXiv asks for one request every 3 s
        "kaggle.com": HostPolicy(limit=1, interval=2.0),
        "github.com": HostPolicy(limit=2, interval=1.0),
        "githubusercontent.com": HostPolicy(limit=2, interval=0.5),
        "huggingface.co": HostPolicy(limit=2, interval=1.0),
        "drive.google.com": HostPolicy(limit=1, interval=1.0),
        "doi.org": HostPolicy(limit=2, interval=0.5),
    }
)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
HEAD_FALLBACK_STATUSES = frozenset({403, 405, 501})  # servers that refuse or mishandle HEAD
PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
GONE_STATUSES = frozenset({404, 410})
BLOCKED_STATUSES = frozenset({401, 403, 429, 451})
# Roles whose URL is usually a file, not a page: HEAD suffices unless the answer is HTML.
HEAD_FIRST_ROLES = frozenset({"download", "sample"})
HTML_TYPES = ("text/html", "application/xhtml+xml")
CHUNK_BYTES = 8 * 1024
URL_FILE_ROLE = "listed"
MARKDOWN_ROLE = "page"

SOFT_404 = re.compile(
    r"\b404\b|\bnot found\b|\bpage (?:does not|doesn't|no longer) exists?\b|\bno longer available\b"
    r"|页面不存在|找不到|未找到|頁面不存在",
    re.IGNORECASE,
)
BOT_WALL = re.compile(
    r"just a moment|attention required|are you a robot|verify you are human|captcha|access denied",
    re.IGNORECASE,
)
# Fragments that are not element ids: SPA routes, text fragments, PDF pages, GitHub line ranges.
UNCHECKABLE_FRAGMENT = re.compile(r"^(?:[!/]|:~:|page=|L\d+(?:-L\d+)?$)")


# ---------------------------------------------------------------------------
# Input: where URLs come from
# ---------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class LinkSource:
    """One place a URL appears (1-based line and column)."""

    file: str
    line: int
    column: int
    role: str
    dataset_id: str | None = None

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


def _source_key(s: LinkSource) -> tuple[str, int, int, str, str]:
    return (s.file, s.line, s.column, s.role, s.dataset_id or "")


@dataclass(frozen=True)
class LinkTarget:
    """One URL to check, deduplicated; keeps every position."""

    url: str
    sources: tuple[LinkSource, ...]
    expect: frozenset[int] = frozenset()


def dedupe_targets(items: Iterable[tuple[str, LinkSource, frozenset[int]]]) -> list[LinkTarget]:
    """One target per URL (exact string), sorted by URL, sources sorted by position.

    Declared statuses are merged: if any place says a 403 is normal for this URL, it is.
    """
    sources: dict[str, set[LinkSource]] = {}
    expects: dict[str, set[int]] = {}
    for url, source, expect in items:
        sources.setdefault(url, set()).add(source)
        expects.setdefault(url, set()).update(expect)
    return [
        LinkTarget(url=url, sources=tuple(sorted(sources[url], key=_source_key)), expect=frozenset(expects[url]))
        for url in sorted(sources)
    ]


def targets_from_url_file(path: Path) -> list[LinkTarget]:
    """A plain list, one URL a line; blank lines and lines starting with '#' are ignored.

    Raises ``LoadError`` with every line that is not an http(s) URL.
    """
    name = str(path)
    items: list[tuple[str, LinkSource, frozenset[int]]] = []
    problems: list[Problem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        column = len(line) - len(line.lstrip()) + 1
        if not _is_http_url(text):
            problems.append(Problem(name, number, column, "", f"expected one http(s) URL on the line, got {text!r}"))
            continue
        items.append((text, LinkSource(name, number, column, URL_FILE_ROLE, None), frozenset()))
    if problems:
        raise LoadError(problems)
    return dedupe_targets(items)


def _is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in text)


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
_URL_START = re.compile(r"https?://", re.IGNORECASE)
# GFM drops these from the end of a bare autolink.
_TRAILING_PUNCTUATION = "?!.,:;*_~'\""


def targets_from_markdown(root: Path, files: Iterable[Path]) -> list[tuple[str, LinkSource, frozenset[int]]]:
    """External http(s) links in hand-written Markdown: ``[text](url)``, reference
    definitions, ``<url>``, HTML ``href``/``src`` and bare URLs; code is skipped.

    Positions name the file relative to ``root`` (POSIX separators) and the 1-based column of
    the URL's first character.
    """
    found: list[tuple[str, LinkSource, frozenset[int]]] = []
    for path in sorted(files):
        try:
            name = path.relative_to(root).as_posix()
        except ValueError:
            name = path.as_posix()
        text = path.read_text(encoding="utf-8")
        for line, column, url in _markdown_urls(text):
            found.append((url, LinkSource(name, line, column, MARKDOWN_ROLE, None), frozenset()))
    return found


def _markdown_urls(text: str) -> Iterator[tuple[int, int, str]]:
    fence: str | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        code = [m.span() for m in _CODE_SPAN.finditer(line)]
        taken_until = 0
        for match in _URL_START.finditer(line):
            start = match.start()
            if start < taken_until or any(a <= start < b for a, b in code):
                continue
            url, end = _url_at(line, start)
            taken_until = end
            if url is not None and _is_http_url(url):
                yield number, start + 1, url


def _url_at(line: str, start: int) -> tuple[str | None, int]:
    """The URL starting at ``start`` and where it ends, by the syntax that introduces it."""
    before = line[:start]
    if before.endswith("<"):
        end = line.find(">", start)
        end = len(line) if end < 0 else end
        return line[start:end], end
    if before.endswith(('"', "'")):
        end = line.find(before[-1], start)
        end = len(line) if end < 0 else end
        return html.unescape(line[start:end]), end
    if before.endswith("](") or re.search(r"^\s{0,3}\[[^\]]+\]:\s*$", before):
        end = start
        depth = 0
        while end < len(line) and not line[end].isspace():
            if line[end] == "(":
                depth += 1
            elif line[end] == ")":
                if depth == 0:
                    break
                depth -= 1
            end += 1
        return line[start:end], end
    # Bare autolink (GFM): up to whitespace or '<', minus trailing punctuation and unbalanced ')'.
    end = start
    while end < len(line) and not line[end].isspace() and line[end] not in "<]":
        end += 1
    url = line[start:end]
    while url:
        if url[-1] in _TRAILING_PUNCTUATION or (url[-1] == ")" and url.count(")") > url.count("(")):
            url = url[:-1]
        else:
            break
    if line.startswith("](", end):
        return None, end  # the text of a link is not itself a link
    return url, end


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


class LinkConfigError(ValueError):
    """A checker setting that cannot work (exit code 2 at the CLI)."""


@dataclass(frozen=True)
class CheckerConfig:
    """Checking policy. Every default is a named constant above; tests override freely."""

    connect_timeout: float = CONNECT_TIMEOUT_S
    read_timeout: float = READ_TIMEOUT_S
    deadline_per_url: float = DEADLINE_PER_URL_S
    max_body_bytes: int = MAX_BODY_BYTES
    max_anchor_bytes: int = MAX_ANCHOR_BYTES
    max_redirects: int = MAX_REDIRECTS
    retries: int = RETRIES
    backoff_base: float = BACKOFF_BASE_S
    retry_after_cap: float = RETRY_AFTER_CAP_S
    per_host_limit: int = PER_HOST_LIMIT
    per_host_interval: float = PER_HOST_INTERVAL_S
    host_overrides: Mapping[str, HostPolicy] = field(default_factory=lambda: DEFAULT_HOST_OVERRIDES)
    workers: int = WORKERS
    user_agent: str = USER_AGENT
    allow_private: bool = False
    offline: bool = False
    cache_ttl: timedelta = CACHE_TTL
    grace_runs: int = GRACE_RUNS

    def __post_init__(self) -> None:
        problems = []
        for name in ("connect_timeout", "read_timeout", "deadline_per_url"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("backoff_base", "retry_after_cap", "per_host_interval"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative, got {getattr(self, name)!r}")
        for name in ("max_body_bytes", "max_anchor_bytes", "per_host_limit", "workers", "grace_runs"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)!r}")
        for name in ("max_redirects", "retries"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative, got {getattr(self, name)!r}")
        for host, policy in self.host_overrides.items():
            if policy.limit < 1 or policy.interval < 0:
                problems.append(f"host_overrides[{host!r}]: limit must be >= 1 and interval >= 0, got {policy}")
        if problems:
            raise LinkConfigError("; ".join(problems))

    def policy_for(self, host: str) -> HostPolicy:
        """The override for ``host`` or its closest parent domain, else the general policy."""
        labels = host.split(".")
        for i in range(len(labels)):
            policy = self.host_overrides.get(".".join(labels[i:]))
            if policy is not None:
                return policy
        return HostPolicy(self.per_host_limit, self.per_host_interval)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


class Verdict(StrEnum):
    OK = "ok"
    REDIRECTED = "redirected"
    BROKEN = "broken"
    BLOCKED = "blocked"
    TRANSIENT = "transient"
    SKIPPED = "skipped"


SUCCESS_VERDICTS = frozenset({Verdict.OK, Verdict.REDIRECTED})
# Most serious first: the order of report tables.
SEVERITY = (Verdict.BROKEN, Verdict.BLOCKED, Verdict.TRANSIENT, Verdict.REDIRECTED, Verdict.SKIPPED, Verdict.OK)


@dataclass(frozen=True)
class LinkResult:
    url: str
    verdict: Verdict
    http_status: int | None
    final_url: str | None
    attempts: int
    elapsed_s: float
    reason: str
    sources: tuple[LinkSource, ...] = ()
    expected: bool = False
    from_cache: bool = False
    consecutive_failures: int = 0
    fails_run: bool = False


@dataclass(frozen=True)
class LinkRun:
    results: tuple[LinkResult, ...]
    offline: bool = False

    def failed(self) -> bool:
        return any(r.fails_run for r in self.results)


# ---------------------------------------------------------------------------
# Cache and history
# ---------------------------------------------------------------------------


CACHE_VERSION = 1


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _CacheEntry:
    last_verdict: str
    last_checked: str
    last_success: str | None = None
    first_failure: str | None = None
    consecutive_failures: int = 0
    http_status: int | None = None
    final_url: str | None = None
    reason: str = ""


class LinkCacheError(ValueError):
    """A cache file that cannot be read (exit code 2 at the CLI)."""


class LinkCache:
    """Per-URL history between runs. ``now`` is injectable so tests control time."""

    def __init__(self, now: Callable[[], datetime] = _utc_now) -> None:
        self.now = now
        self._entries: dict[str, _CacheEntry] = {}

    @classmethod
    def load(cls, path: Path, now: Callable[[], datetime] = _utc_now) -> LinkCache:
        """Read ``path``; a missing file is an empty cache."""
        cache = cls(now)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cache
        try:
            data = json.loads(text)
            if data.get("version") != CACHE_VERSION:
                raise LinkCacheError(f"{path}: unknown link cache version {data.get('version')!r}; delete the file")
            for url, raw in data["links"].items():
                cache._entries[url] = _CacheEntry(**raw)
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise LinkCacheError(f"{path}: not a link cache ({exc}); delete the file to start afresh") from exc
        return cache

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the previous file, never half a file."""
        data = {
            "version": CACHE_VERSION,
            "links": {url: vars(self._entries[url]) for url in sorted(self._entries)},
        }
        text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp: Path | None = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(name, path)
            tmp = None
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)

    def entry(self, url: str) -> dict[str, object] | None:
        """A copy of what is remembered about ``url`` (for reports and tests)."""
        found = self._entries.get(url)
        return None if found is None else dict(vars(found))

    def reusable(self, target: LinkTarget, ttl: timedelta) -> LinkResult | None:
        """The remembered success for ``target`` if it is younger than ``ttl``."""
        found = self._entries.get(target.url)
        if found is None or found.consecutive_failures or found.last_success is None:
            return None
        expected = found.http_status is not None and found.http_status in target.expect
        if found.last_verdict not in SUCCESS_VERDICTS and not expected:
            return None
        checked = datetime.fromisoformat(found.last_success)
        if self.now() - checked >= ttl:
            return None
        return LinkResult(
            url=target.url,
            verdict=Verdict(found.last_verdict),
            http_status=found.http_status,
            final_url=found.final_url,
            attempts=0,
            elapsed_s=0.0,
            reason=f"{found.reason} (cached: checked {found.last_success})",
            sources=target.sources,
            expected=expected,
            from_cache=True,
        )

    def consecutive_failures(self, url: str) -> int:
        found = self._entries.get(url)
        return 0 if found is None else found.consecutive_failures

    def record(self, result: LinkResult) -> int:
        """Remember a fresh result; return the consecutive broken runs including this one.

        Blocked and transient answers say nothing about whether the link works, so they
        neither reset nor extend a run of failures.
        """
        stamp = self.now().isoformat()
        found = self._entries.get(result.url)
        if found is None:
            found = self._entries[result.url] = _CacheEntry(last_verdict=str(result.verdict), last_checked=stamp)
        found.last_verdict = str(result.verdict)
        found.last_checked = stamp
        found.http_status = result.http_status
        found.final_url = result.final_url
        found.reason = result.reason
        if result.verdict in SUCCESS_VERDICTS or result.expected:
            found.last_success = stamp
            found.first_failure = None
            found.consecutive_failures = 0
        elif result.verdict is Verdict.BROKEN:
            found.first_failure = found.first_failure or stamp
            found.consecutive_failures += 1
        return found.consecutive_failures


# ---------------------------------------------------------------------------
# Checking: the per-host gate
# ---------------------------------------------------------------------------


def _host_key(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@dataclass
class _HostState:
    limit: int
    interval: float
    wakeup: threading.Condition
    active: int = 0
    next_start: float = 0.0
    waiting: int = 0  # requests of URLs already under way, waiting for a slot
    pending: deque[LinkTarget] = field(default_factory=deque)


# A lost wake-up can only delay a worker by this much, never stall the run.
GATE_BACKSTOP_S = 0.5


class _HostGate:
    """Per-host slots shared by all workers, and the queue of URLs waiting for them.

    A worker asks ``next_job`` for work and gets a URL whose host can take a request now,
    with that request's slot already taken, so no worker sits blocked behind a busy host.
    Later requests of the same URL (fallbacks, retries, redirect hops) take slots through
    ``acquire`` and go before new URLs. Each freed slot wakes one thread, not the whole pool.
    """

    def __init__(self, config: CheckerConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._dispatch = threading.Condition(self._lock)
        self._hosts: dict[str, _HostState] = {}

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            policy = self._config.policy_for(host)
            state = self._hosts[host] = _HostState(policy.limit, policy.interval, threading.Condition(self._lock))
        return state

    @staticmethod
    def _take(state: _HostState, now: float) -> None:
        state.active += 1
        state.next_start = now + state.interval

    def enqueue(self, target: LinkTarget) -> None:
        with self._lock:
            self._state(_host_key(target.url)).pending.append(target)

    def drop_pending(self) -> None:
        with self._lock:
            for state in self._hosts.values():
                state.pending.clear()
            self._dispatch.notify_all()

    def next_job(self) -> tuple[str, LinkTarget] | None:
        """Block until some host can start a request; None when no work is left."""
        with self._lock:
            while True:
                now = time.monotonic()
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
                if not waiting:
                    return None
                if best is not None:
                    host, state = best
                    self._take(state, now)
                    return host, state.pending.popleft()
                self._dispatch.wait(wake - now)

    def acquire(self, host: str, deadline: float) -> bool:
        with self._lock:
            state = self._state(host)
            state.waiting += 1
            try:
                while True:
                    now = time.monotonic()
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

    def release(self, host: str) -> None:
        with self._lock:
            state = self._hosts[host]
            state.active -= 1
            if state.waiting:
                state.wakeup.notify()
            elif state.pending:
                self._dispatch.notify()


# ---------------------------------------------------------------------------
# Checking: the guard
# ---------------------------------------------------------------------------


class _Resolver:
    """getaddrinfo with a per-run memory, shared by the workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, int], tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]] = {}

    def addresses(self, host: str, port: int) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        with self._lock:
            known = self._known.get((host, port))
        if known is not None:
            return known
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        found = tuple(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
        with self._lock:
            self._known[(host, port)] = found
        return found


def _address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` is not public, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


# ---------------------------------------------------------------------------
# Checking: one URL
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    """No usable HTTP answer."""

    verdict: Verdict
    reason: str
    retryable: bool


@dataclass(frozen=True)
class _Page:
    """What the first part of an HTML body says."""

    title: str
    heading: str
    anchor_found: bool | None  # None: no anchor asked, or not decidable within the cap
    complete: bool  # the whole body was read


@dataclass(frozen=True)
class _Answer:
    """The end of one request chain (redirects followed)."""

    status: int | None = None
    final_url: str | None = None
    moved_to: str | None = None  # where the leading permanent redirects point
    hops: tuple[str, ...] = ()
    failure: _Failure | None = None
    retry_after: float | None = None
    content_type: str = ""
    challenge: bool = False  # a bot wall said so in its headers
    page: _Page | None = None
    body_error: str | None = None


class _DeadlinePassed(Exception):
    pass


def _phrase(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def _checkable_fragment(url: str) -> str | None:
    fragment = unquote(urlsplit(url).fragment)
    if not fragment or UNCHECKABLE_FRAGMENT.match(fragment):
        return None
    return fragment


def _wants_body(target: LinkTarget, fragment: str | None) -> bool:
    if fragment is not None:
        return True
    return not target.sources or any(s.role not in HEAD_FIRST_ROLES for s in target.sources)


def _is_html(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in HTML_TYPES


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - _utc_now()).total_seconds())


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


def _classify(exc: requests.exceptions.RequestException, config: CheckerConfig) -> _Failure:
    causes = list(_causes(exc))
    if isinstance(exc, requests.exceptions.SSLError):
        return _Failure(Verdict.BROKEN, f"TLS failure: {_short(exc)}", retryable=False)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _Failure(Verdict.TRANSIENT, f"no connection within {config.connect_timeout:g} s", retryable=True)
    if isinstance(exc, requests.exceptions.ReadTimeout) or any(
        isinstance(c, (TimeoutError, ReadTimeoutError)) for c in causes
    ):
        return _Failure(Verdict.TRANSIENT, f"no answer within {config.read_timeout:g} s", retryable=True)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema)):
        return _Failure(Verdict.BROKEN, f"invalid URL: {_short(exc)}", retryable=False)
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            return _dns_failure(cause)
        if isinstance(cause, NameResolutionError):
            return _Failure(Verdict.BROKEN, "host not found (DNS)", retryable=False)
        if isinstance(cause, ConnectionRefusedError):
            return _Failure(Verdict.BROKEN, "connection refused: nothing answers at that address", retryable=False)
    for cause in causes:
        if isinstance(cause, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
            return _Failure(Verdict.TRANSIENT, "connection reset by the server", retryable=True)
        if isinstance(cause, (RemoteDisconnected, IncompleteRead, ProtocolError)):
            return _Failure(Verdict.TRANSIENT, "the server closed the connection without a full answer", retryable=True)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return _Failure(Verdict.TRANSIENT, f"connection failed: {_short(exc)}", retryable=True)
    return _Failure(Verdict.TRANSIENT, f"request failed: {_short(exc)}", retryable=False)


def _dns_failure(exc: socket.gaierror) -> _Failure:
    if exc.errno == socket.EAI_AGAIN:
        return _Failure(Verdict.TRANSIENT, "DNS lookup failed temporarily", retryable=True)
    return _Failure(Verdict.BROKEN, "host not found (DNS)", retryable=False)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(rb"<h1[^>]*>(.*?)</h1", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset=[\"']?([\w-]+)", re.IGNORECASE)


def _encoding(content_type: str, head: bytes) -> str:
    found = _HEADER_CHARSET.search(content_type)
    name = found.group(1) if found else None
    if name is None:
        meta = _META_CHARSET.search(head)
        name = meta.group(1).decode("ascii") if meta else None
    try:
        return codecs.lookup(name).name if name else "utf-8"
    except LookupError:
        return "utf-8"


def _text_of(raw: bytes, encoding: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", raw.decode(encoding, errors="replace"))).split())


def _anchor_pattern(fragment: str) -> re.Pattern[str]:
    # GitHub renders README headings with a "user-content-" prefix and rewrites the link.
    names = {re.escape(fragment), re.escape(html.escape(fragment))}
    value = "(?:user-content-)?(?:" + "|".join(sorted(names)) + ")"
    return re.compile(rf"""\b(?:id|name)\s*=\s*(?:"{value}"|'{value}'|{value}(?=[\s/>]))""")


class _Checker:
    """Checks URLs one after another with one worker's Session."""

    def __init__(self, session: requests.Session, gate: _HostGate, resolver: _Resolver, config: CheckerConfig) -> None:
        self._session = session
        self._gate = gate
        self._resolver = resolver
        self._config = config
        self._rng = random.Random()
        self._held: str | None = None
        self._sent = 0
        self._proxies: dict[str, dict[str, str]] = {}

    def check(self, target: LinkTarget, held_host: str) -> LinkResult:
        self._held = held_host
        self._sent = 0
        started = time.monotonic()
        try:
            verdict, answer, reason = self._check(target, started + self._config.deadline_per_url)
        finally:
            if self._held is not None:
                self._gate.release(self._held)
                self._held = None
        expected = answer.status is not None and answer.status in target.expect
        if expected and answer.status is not None:
            reason = f"answered {_phrase(answer.status)}, as the data declares"
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
        )

    def _check(self, target: LinkTarget, deadline: float) -> tuple[Verdict, _Answer, str]:
        scheme = urlsplit(target.url).scheme.lower()
        if scheme not in ("http", "https"):
            return Verdict.SKIPPED, _Answer(), f"{scheme or 'scheme-less'} links are not checked"
        fragment = _checkable_fragment(target.url)
        method = "GET" if _wants_body(target, fragment) else "HEAD"
        retry = 0
        gave_up = ""
        while True:
            answer = self._follow(method, target.url, fragment, deadline)
            if method == "HEAD" and self._head_is_not_enough(answer):
                method = "GET"
                answer = self._follow(method, target.url, fragment, deadline)
            if not self._retryable(answer, target.expect) or retry >= self._config.retries:
                break
            wait = self._config.backoff_base * (2**retry) * self._rng.uniform(0.5, 1.0)
            if answer.retry_after is not None:
                if answer.retry_after > self._config.retry_after_cap:
                    gave_up = (
                        f"; Retry-After asks for {answer.retry_after:g} s, more than the "
                        f"{self._config.retry_after_cap:g} s cap, so not asked again"
                    )
                    break
                wait = max(wait, answer.retry_after)
            if time.monotonic() + wait >= deadline:
                gave_up = f"; no time left for another try within {self._config.deadline_per_url:g} s"
                break
            time.sleep(wait)
            retry += 1
            method = "GET"  # a server that failed a HEAD may only mishandle HEAD
        verdict, reason = _judge(answer, fragment)
        if verdict in (Verdict.TRANSIENT, Verdict.BLOCKED) and retry:
            reason += f" (after {retry + 1} tries)"
        return verdict, answer, reason + gave_up

    @staticmethod
    def _head_is_not_enough(answer: _Answer) -> bool:
        if answer.failure is not None or answer.status is None:
            return False
        if answer.status in HEAD_FALLBACK_STATUSES:
            return True
        return 200 <= answer.status < 300 and _is_html(answer.content_type)

    @staticmethod
    def _retryable(answer: _Answer, expect: frozenset[int]) -> bool:
        if answer.failure is not None:
            return answer.failure.retryable
        if answer.challenge or answer.status in expect:
            return False
        return answer.status in RETRY_STATUSES

    def _refusal(self, url: str) -> _Failure | None:
        if self._config.allow_private:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            addresses = self._resolver.addresses(host, port)
        except socket.gaierror as exc:
            return _dns_failure(exc)
        except (UnicodeError, ValueError) as exc:
            return _Failure(Verdict.BROKEN, f"invalid host: {_short(exc)}", retryable=False)
        for address in addresses:
            kind = _address_kind(address)
            if kind is not None:
                return _Failure(
                    Verdict.BROKEN,
                    f"{host} resolves to {kind} address {address}: not fetched "
                    "(a survey link must be public; allow_private checks it anyway)",
                    retryable=False,
                )
        return None

    def _proxies_for(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._proxies.get(origin)
        if found is None:
            found = self._proxies[origin] = requests.utils.get_environ_proxies(origin + "/")
        return found

    @contextmanager
    def _exchange(self, method: str, url: str, deadline: float) -> Iterator[requests.Response]:
        """One request under its host's slot; the slot is held until the body is closed."""
        host = _host_key(url)
        if self._held == host:
            self._held = None
        else:
            if self._held is not None:
                self._gate.release(self._held)
                self._held = None
            if not self._gate.acquire(host, deadline):
                raise _DeadlinePassed
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _DeadlinePassed
            self._sent += 1
            response = self._session.request(
                method,
                _without_fragment(url),
                allow_redirects=False,
                stream=True,
                proxies=self._proxies_for(url),
                timeout=(min(self._config.connect_timeout, remaining), min(self._config.read_timeout, remaining)),
            )
            try:
                yield response
            finally:
                response.close()
        finally:
            self._gate.release(host)

    def _follow(self, method: str, url: str, fragment: str | None, deadline: float) -> _Answer:
        current = url
        seen = [_without_fragment(url)]
        moved_to: str | None = None
        still_permanent = True
        for _ in range(self._config.max_redirects + 1):
            refusal = self._refusal(current)
            if refusal is not None:
                if current != url:
                    refusal = replace(refusal, reason=f"redirects to {current}, but {refusal.reason}")
                return _Answer(failure=refusal, hops=tuple(seen[1:]), moved_to=moved_to)
            try:
                with self._exchange(method, current, deadline) as response:
                    status = response.status_code
                    location = response.headers.get("Location")
                    if status in REDIRECT_STATUSES and location:
                        target = urljoin(current, location.strip())
                        if not urlsplit(target).fragment and urlsplit(url).fragment:
                            target = urlunsplit(urlsplit(target)._replace(fragment=urlsplit(url).fragment))
                    else:
                        return self._answer(response, method, current, fragment, deadline, seen, moved_to)
            except _DeadlinePassed:
                late = f"gave up: the {self._config.deadline_per_url:g} s deadline passed"
                return _Answer(failure=_Failure(Verdict.TRANSIENT, late, False), hops=tuple(seen[1:]), moved_to=moved_to)
            except requests.exceptions.RequestException as exc:
                failure = _classify(exc, self._config)
                if current != url:
                    failure = replace(failure, reason=f"redirects to {current}, which failed: {failure.reason}")
                return _Answer(failure=failure, hops=tuple(seen[1:]), moved_to=moved_to)
            if status in PERMANENT_REDIRECTS and still_permanent:
                moved_to = target
            else:
                still_permanent = False
            if status == 303 and method != "HEAD":
                method = "GET"
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                return _Answer(
                    status=status,
                    final_url=target,
                    hops=tuple(seen[1:]) + (target,),
                    failure=_Failure(Verdict.SKIPPED, f"redirects to {target}, which is not checked", False),
                )
            key = _without_fragment(target)
            if key in seen:
                chain = " -> ".join([*seen, key])
                return _Answer(
                    status=status,
                    final_url=target,
                    hops=tuple(seen[1:]),
                    failure=_Failure(Verdict.BROKEN, f"redirect loop: {chain}", retryable=False),
                )
            seen.append(key)
            current = target
        return _Answer(
            status=status,
            final_url=current,
            hops=tuple(seen[1:]),
            failure=_Failure(Verdict.BROKEN, f"more than {self._config.max_redirects} redirects", retryable=False),
        )

    def _answer(
        self,
        response: requests.Response,
        method: str,
        url: str,
        fragment: str | None,
        deadline: float,
        seen: list[str],
        moved_to: str | None,
    ) -> _Answer:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        page: _Page | None = None
        body_error: str | None = None
        if method == "GET" and 200 <= status < 300 and _is_html(content_type):
            try:
                page = self._read_page(response, content_type, fragment, deadline)
            except requests.exceptions.RequestException as exc:
                body_error = _classify(exc, self._config).reason
        return _Answer(
            status=status,
            final_url=url,
            moved_to=moved_to,
            hops=tuple(seen[1:]),
            retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            content_type=content_type,
            challenge=response.headers.get("cf-mitigated", "").lower() == "challenge",
            page=page,
            body_error=body_error,
        )

    def _read_page(self, response: requests.Response, content_type: str, fragment: str | None, deadline: float) -> _Page:
        cap = max(self._config.max_anchor_bytes, self._config.max_body_bytes) if fragment else self._config.max_body_bytes
        anchor = _anchor_pattern(fragment) if fragment else None
        body = bytearray()
        found: bool | None = None
        complete = True
        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
            body += chunk
            if anchor is not None and anchor.search(bytes(body).decode(_encoding(content_type, bytes(body[:2048])), "replace")):
                found = True
                complete = False
                break
            if len(body) >= cap or time.monotonic() >= deadline:
                complete = False
                break
        if anchor is not None and found is None and complete:
            found = False
        head = bytes(body[: self._config.max_body_bytes])
        encoding = _encoding(content_type, head[:2048])
        title = _TITLE.search(head)
        heading = _H1.search(head)
        return _Page(
            title=_text_of(title.group(1), encoding) if title else "",
            heading=_text_of(heading.group(1), encoding) if heading else "",
            anchor_found=found,
            complete=complete,
        )


def _judge(answer: _Answer, fragment: str | None) -> tuple[Verdict, str]:
    """The verdict and a sentence for a contributor."""
    if answer.failure is not None:
        return answer.failure.verdict, answer.failure.reason
    status = answer.status
    if status is None:
        return Verdict.TRANSIENT, "no answer"
    final = answer.final_url
    via = f"redirects to {final}, which answered" if answer.hops else "answered"
    if answer.challenge:
        return Verdict.BLOCKED, f"{via} {_phrase(status)} with a bot challenge"
    if 200 <= status < 300:
        page = answer.page
        if page is not None:
            for label, text in (("title", page.title), ("main heading", page.heading)):
                if text and BOT_WALL.search(text):
                    return Verdict.BLOCKED, f"bot wall: {label} says {_clip(text)!r}"
            for label, text in (("title", page.title), ("main heading", page.heading)):
                if text and SOFT_404.search(text):
                    return Verdict.BROKEN, f"soft 404 (suspected): {label} says {_clip(text)!r}"
            if page.anchor_found is False:
                return Verdict.BROKEN, f"anchor #{fragment} not found" + (f" on {final}" if answer.hops else "")
        notes = []
        if fragment and page is not None and page.anchor_found is None:
            notes.append(f"anchor #{fragment} not verified (not in the part of the page read)")
        elif fragment and page is None and not answer.body_error:
            notes.append(f"anchor #{fragment} not checked (not an HTML page)")
        if answer.body_error:
            notes.append(f"body not checked: {answer.body_error}")
        tail = "; " + "; ".join(notes) if notes else ""
        if answer.moved_to is not None:
            return Verdict.REDIRECTED, f"moved to {answer.moved_to}: update the data{tail}"
        if answer.hops:
            return Verdict.OK, f"{_phrase(status)} via {final}{tail}"
        return Verdict.OK, f"{_phrase(status)}{tail}"
    if status in GONE_STATUSES:
        gone = ": the resource was removed" if status == 410 else ""
        return Verdict.BROKEN, f"{via} {_phrase(status)}{gone}"
    if status == 429:
        return Verdict.BLOCKED, f"{via} {_phrase(status)}: rate limited"
    if status in BLOCKED_STATUSES:
        return Verdict.BLOCKED, f"{via} {_phrase(status)}: the host refuses automated checks or needs a login"
    if 500 <= status < 600:
        return Verdict.TRANSIENT, f"{via} {_phrase(status)}"
    if status in REDIRECT_STATUSES:
        return Verdict.BROKEN, f"{via} {_phrase(status)} without a Location header"
    if 400 <= status < 500:
        return Verdict.BROKEN, f"{via} {_phrase(status)}"
    if 300 <= status < 400:
        return Verdict.OK, f"{via} {_phrase(status)}"
    return Verdict.BLOCKED, f"{via} non-standard status {status}"


# ---------------------------------------------------------------------------
# Checking: the run
# ---------------------------------------------------------------------------


def _new_session(config: CheckerConfig) -> requests.Session:
    session = requests.Session()
    # requests re-reads the environment (proxies, netrc) on every request, which costs more
    # CPU than the request itself; _Checker reads the proxies once per origin instead.
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    # Retries are ours (policy above); urllib3 must not add hidden ones.
    adapter = HTTPAdapter(max_retries=0, pool_connections=128, pool_maxsize=1)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": config.user_agent, "Accept": ACCEPT})
    return session


def _work(gate: _HostGate, resolver: _Resolver, config: CheckerConfig, out: queue.SimpleQueue[LinkResult]) -> None:
    with _new_session(config) as session:
        checker = _Checker(session, gate, resolver, config)
        while (job := gate.next_job()) is not None:
            host, target = job
            out.put(checker.check(target, held_host=host))


def _advance(bar: ProgressBar, problems: list[int], result: LinkResult) -> None:
    if result.verdict not in SUCCESS_VERDICTS and not result.expected:
        problems[0] += 1
    bar.advance(f"{problems[0]} need attention")


def _check_fresh(targets: Sequence[LinkTarget], config: CheckerConfig, progress: ProgressBar) -> dict[str, LinkResult]:
    if not targets:
        return {}
    gate = _HostGate(config)
    for target in targets:
        gate.enqueue(target)
    out: queue.SimpleQueue[LinkResult] = queue.SimpleQueue()
    resolver = _Resolver()
    results: dict[str, LinkResult] = {}
    problems = [0]
    workers = min(config.workers, len(targets))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="linkcheck") as pool:
        futures = [pool.submit(_work, gate, resolver, config, out) for _ in range(workers)]
        try:
            while len(results) < len(targets):
                try:
                    result = out.get(timeout=0.2)
                except queue.Empty:
                    for future in futures:
                        if future.done():
                            future.result()  # a worker that crashed re-raises here
                    continue
                results[result.url] = result
                _advance(progress, problems, result)
        finally:
            gate.drop_pending()
            progress.close()
    return results


def check_links(
    targets: Sequence[LinkTarget],
    config: CheckerConfig,
    cache: LinkCache | None = None,
    progress: bool = False,
) -> LinkRun:
    """Check every target once (politely, in parallel); results sorted by URL.

    With a cache, fresh successes are reused, fresh results are recorded, and ``fails_run``
    honours ``config.grace_runs``. The cache is updated in memory; saving it is the caller's.
    """
    ordered = sorted(targets, key=lambda t: t.url)
    urls = [t.url for t in ordered]
    if len(set(urls)) != len(urls):
        raise ValueError("check_links needs one target per URL; merge them with dedupe_targets")
    if config.offline:
        return LinkRun(
            tuple(
                LinkResult(
                    url=t.url,
                    verdict=Verdict.SKIPPED,
                    http_status=None,
                    final_url=None,
                    attempts=0,
                    elapsed_s=0.0,
                    reason="offline: not checked",
                    sources=t.sources,
                    consecutive_failures=cache.consecutive_failures(t.url) if cache else 0,
                )
                for t in ordered
            ),
            offline=True,
        )
    reused: dict[str, LinkResult] = {}
    if cache is not None:
        for target in ordered:
            found = cache.reusable(target, config.cache_ttl)
            if found is not None:
                reused[target.url] = found
    bar = ProgressBar("links", len(ordered) - len(reused), enabled=progress)
    fresh = _check_fresh([t for t in ordered if t.url not in reused], config, bar)
    results: list[LinkResult] = []
    for target in ordered:
        if target.url in reused:
            results.append(reused[target.url])
            continue
        result = fresh[target.url]
        failing = result.verdict is Verdict.BROKEN and not result.expected
        if cache is not None:
            consecutive = cache.record(result)
            fails = failing and consecutive >= config.grace_runs
        else:
            consecutive = 1 if failing else 0
            fails = failing
        results.append(replace(result, consecutive_failures=consecutive, fails_run=fails))
    return LinkRun(tuple(results))


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


ReportFormat = Literal["text", "json", "markdown", "github"]


def _needs_attention(result: LinkResult) -> bool:
    return result.verdict is not Verdict.OK and not result.expected


def _label(result: LinkResult, grace_note: bool = True) -> str:
    label = str(result.verdict)
    if result.verdict is Verdict.BROKEN and not result.fails_run and grace_note:
        label += f" ({result.consecutive_failures} run{'s' if result.consecutive_failures != 1 else ''}, not failing yet)"
    return label


def _summary(run: LinkRun) -> str:
    counts = {v: 0 for v in Verdict}
    declared = 0
    for result in run.results:
        counts[result.verdict] += 1
        declared += result.expected
    parts = [f"{counts[v]} {v}" for v in Verdict]
    failing = sum(r.fails_run for r in run.results)
    cached = sum(r.from_cache for r in run.results)
    text = f"{len(run.results)} links: " + ", ".join(parts)
    if declared:
        text += f"; {declared} answered as the data declares"
    if cached:
        text += f"; {cached} from cache"
    if run.offline:
        text += "; offline, nothing was checked"
    return text + f"; {failing} fail{'s' if failing == 1 else ''} the run"


def _report_json(run: LinkRun) -> str:
    rows = [
        {
            "url": r.url,
            "verdict": str(r.verdict),
            "http_status": r.http_status,
            "final_url": r.final_url,
            "attempts": r.attempts,
            "elapsed_s": round(r.elapsed_s, 3),
            "reason": r.reason,
            "expected": r.expected,
            "from_cache": r.from_cache,
            "consecutive_failures": r.consecutive_failures,
            "fails_run": r.fails_run,
            "positions": [
                {"file": s.file, "line": s.line, "column": s.column, "role": s.role, "dataset_id": s.dataset_id}
                for s in r.sources
            ],
        }
        for r in run.results
    ]
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def _report_text(run: LinkRun) -> str:
    lines = []
    for result in run.results:
        if not _needs_attention(result) or run.offline:
            continue
        places = result.sources or (LinkSource("<unknown>", 0, 0, ""),)
        for source in places:
            line = f"{source.where()}: {_label(result)}: {result.url} ({result.reason})"
            lines.append((source.file, source.line, source.column, result.url, line))
    return "\n".join([_summary(run), *(line[-1] for line in sorted(lines))]) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _report_markdown(run: LinkRun) -> str:
    rank = {v: i for i, v in enumerate(SEVERITY)}
    shown = sorted(
        (r for r in run.results if _needs_attention(r) and not run.offline),
        key=lambda r: (not r.fails_run, rank[r.verdict], r.url),
    )
    out = ["## Link check", "", _summary(run), ""]
    if not shown:
        out.append("Every link answered as expected." if not run.offline else "No link was checked (offline).")
        return "\n".join(out) + "\n"
    out += ["| Verdict | Link | Where | Why |", "| --- | --- | --- | --- |"]
    for r in shown:
        verdict = f"**{_label(r)}**" if r.fails_run else _label(r)
        where = "<br>".join(f"`{_md_cell(s.file)}:{s.line}`" for s in r.sources) or "-"
        out.append(f"| {verdict} | {_md_cell(r.url)} | {where} | {_md_cell(r.reason)} |")
    return "\n".join(out) + "\n"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _report_github(run: LinkRun) -> str:
    lines = []
    for r in run.results:
        if not _needs_attention(r) or r.verdict is Verdict.SKIPPED:
            continue
        if r.fails_run:
            level, title = "error", "broken link"
        elif r.verdict is Verdict.BROKEN:
            level, title = "warning", "broken link (within grace)"
        elif r.verdict is Verdict.REDIRECTED:
            level, title = "notice", "moved link"
        else:
            level, title = "warning", f"{r.verdict} link"
        for s in r.sources:
            lines.append(
                (s.file, s.line, s.column, r.url,
                 f"::{level} file={_gh_property(s.file)},line={max(s.line, 1)},col={max(s.column, 1)},"
                 f"title={_gh_property(title)}::{_gh_data(f'{r.url}: {r.reason}')}")
            )
    return "".join(line[-1] + "\n" for line in sorted(lines))


def format_report(run: LinkRun, fmt: ReportFormat) -> str:
    """The run as text, JSON, Markdown (a CI job summary) or GitHub workflow annotations."""
    match fmt:
        case "json":
            return _report_json(run)
        case "text":
            return _report_text(run)
        case "markdown":
            return _report_markdown(run)
        case "github":
            return _report_github(run)
    raise ValueError(f"unknown report format {fmt!r}; expected one of text, json, markdown, github")


class LinkReportError(ValueError):
    """A report file that cannot be read back."""


def load_report(path: Path) -> dict[str, LinkResult]:
    """Read a JSON report written by ``format_report(run, "json")``; a missing file is {}."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        rows = json.loads(text)
        results = {}
        for row in rows:
            result = LinkResult(
                url=row["url"],
                verdict=Verdict(row["verdict"]),
                http_status=row["http_status"],
                final_url=row["final_url"],
                attempts=row["attempts"],
                elapsed_s=row["elapsed_s"],
                reason=row["reason"],
                sources=tuple(
                    LinkSource(p["file"], p["line"], p["column"], p["role"], p.get("dataset_id")) for p in row["positions"]
                ),
                expected=row.get("expected", False),
                from_cache=row.get("from_cache", False),
                consecutive_failures=row.get("consecutive_failures", 0),
                fails_run=row.get("fails_run", False),
            )
            results[result.url] = result
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise LinkReportError(f"{path}: not a link report ({exc})") from exc
    return results
