"""The link checker's settings and targets shared by the link tests: short timeouts, no spacing."""

from __future__ import annotations

from generator.links import CheckerConfig, LinkResult, LinkSource, LinkTarget, check_links

FAST = CheckerConfig(
    connect_timeout=1.0,
    read_timeout=1.0,
    deadline_per_url=5.0,
    retries=2,
    backoff_base=0.01,
    per_host_limit=8,
    per_host_interval=0.0,
    host_overrides={},
    workers=8,
    allow_private=True,
)


def target(url: str, role: str = "page", expect: frozenset[int] = frozenset()) -> LinkTarget:
    return LinkTarget(url, (LinkSource("data/datasets.yaml", 7, 11, role, "rpc"),), expect)


def check_one(url: str, config: CheckerConfig = FAST, role: str = "page", **kw: object) -> LinkResult:
    (result,) = check_links([target(url, role, kw.pop("expect", frozenset()))], config, **kw).results  # type: ignore[arg-type]
    return result
