"""The checking policy: timeouts, caps, per-host limits, and which statuses mean what."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from generator.errors import BadInput
from generator.net.guard import LOOKUP_TIMEOUT_S
from generator.net.policy import USER_AGENT

ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"

CONNECT_TIMEOUT_S = 5.0
# A silent server costs one read timeout, then a short retry, then the per-URL deadline
# cuts it (headers or body, trickled or not): about 12 s, not three full timeouts.
READ_TIMEOUT_S = 8.0
DEADLINE_PER_URL_S = 12.0
MAX_BODY_BYTES = 16 * 1024  # enough for <title> and the first <h1> of nearly every page
MAX_ANCHOR_BYTES = 512 * 1024  # anchors sit anywhere; past this an anchor is "not verified", not missing
MAX_REDIRECTS = 10
RETRIES = 2
BACKOFF_BASE_S = 0.5
PER_HOST_LIMIT = 2
# No spacing unless the host asks for it (429, Retry-After) or is listed below: two
# requests in flight is already polite, and spacing a fast host only makes the run long.
PER_HOST_INTERVAL_S = 0.0
# Spacing a host that said 429 starts here and doubles up to the cap.
ADAPTIVE_INTERVAL_S = 0.5
ADAPTIVE_INTERVAL_CAP_S = 4.0
# Threads mostly wait on sockets, backoff and host slots; this many keep every host busy
# even while a few dozen URLs hang until their deadline.
WORKERS = 64
# Error bodies up to this size are read to the end so the connection can be reused.
DRAIN_BYTES = 64 * 1024
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

HEAD_FALLBACK_STATUSES = frozenset({403, 405, 501})  # servers that refuse or mishandle HEAD
PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
GONE_STATUSES = frozenset({404, 410})
BLOCKED_STATUSES = frozenset({401, 403, 429, 451})
# Roles whose URL is usually a file, not a page: HEAD suffices unless the answer is HTML.
HEAD_FIRST_ROLES = frozenset({"download", "sample"})
HTML_TYPES = ("text/html", "application/xhtml+xml")
CHUNK_BYTES = 8 * 1024

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



class LinkConfigError(BadInput, ValueError):
    """A checker setting that cannot work."""


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
    per_host_limit: int = PER_HOST_LIMIT
    per_host_interval: float = PER_HOST_INTERVAL_S
    host_overrides: Mapping[str, HostPolicy] = field(default_factory=lambda: DEFAULT_HOST_OVERRIDES)
    workers: int = WORKERS
    user_agent: str = USER_AGENT
    allow_private: bool = False
    lookup_timeout: float = LOOKUP_TIMEOUT_S
    allowed_addresses: frozenset[str] = frozenset()  # tests: exactly these private addresses pass the guard
    offline: bool = False
    cache_ttl: timedelta = CACHE_TTL
    grace_runs: int = GRACE_RUNS

    def __post_init__(self) -> None:
        problems = []
        for name in ("connect_timeout", "read_timeout", "deadline_per_url", "lookup_timeout"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("backoff_base", "per_host_interval"):
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

