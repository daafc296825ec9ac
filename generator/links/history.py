"""The history of each URL between runs: when it last worked, how many runs it has failed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from generator.cache import StaleFormat, read_cache
from generator.files import write_atomic
from generator.links.collect import LinkTarget
from generator.links.verdict import SUCCESS_VERDICTS, LinkResult, Verdict

CACHE_VERSION = 1


def utc_now() -> datetime:
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


_FIELDS: dict[str, tuple[type, ...]] = {
    "last_verdict": (str,),
    "last_checked": (str,),
    "last_success": (str, type(None)),
    "first_failure": (str, type(None)),
    "consecutive_failures": (int,),
    "http_status": (int, type(None)),
    "final_url": (str, type(None)),
    "reason": (str,),
}


def _entry(url: str, raw: object) -> _CacheEntry:
    if not isinstance(raw, dict) or set(raw) - set(_FIELDS) or not {"last_verdict", "last_checked"} <= set(raw):
        raise ValueError(f"entry {url!r} is not a history record")
    for name, value in raw.items():
        if not isinstance(value, _FIELDS[name]) or isinstance(value, bool):
            raise ValueError(f"entry {url!r}: {name} is {value!r}")
    entry = _CacheEntry(**raw)
    Verdict(entry.last_verdict)
    for stamp in (entry.last_checked, entry.last_success, entry.first_failure):
        if stamp is not None:
            datetime.fromisoformat(stamp)
    return entry


_STARTED = time.time()


def remove_leftovers(path: Path) -> None:
    """Temporary files of ``write_atomic`` that a killed process left beside ``path``
    (older than this process, so a concurrent writer's file is left alone)."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if leftover.stat().st_mtime < _STARTED:
                leftover.unlink()
        except OSError:
            pass  # gone already, or not ours to remove


def _decode_entries(raw: bytes) -> dict[str, _CacheEntry]:
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        raise StaleFormat(f"expected version {CACHE_VERSION}")
    links = data["links"]
    if not isinstance(links, dict):
        raise ValueError("'links' is not a mapping")
    return {url: _entry(url, raw) for url, raw in links.items()}


class LinkCache:
    """Per-URL history between runs. ``now`` is injectable so tests control time."""

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self.now = now
        self._entries: dict[str, _CacheEntry] = {}

    @classmethod
    def read(cls, path: Path, now: Callable[[], datetime] = utc_now) -> tuple[LinkCache, str | None]:
        """The history in ``path`` and None; a missing file is an empty history.

        A damaged, truncated, foreign or old-format file is discarded by the one cache contract
        (``generator.cache``): an empty history and one warning naming the file (the run goes
        on; the file is written again at its end).
        """
        cache = cls(now)
        warnings: list[str] = []
        entries = read_cache(path, _decode_entries, "link history", warnings.append)
        if entries is not None:
            cache._entries = entries
        return cache, (warnings[0] if warnings else None)

    @classmethod
    def load(cls, path: Path, now: Callable[[], datetime] = utc_now) -> LinkCache:
        """``read`` without the warning."""
        return cls.read(path, now)[0]

    def save(self, path: Path) -> None:
        """Write atomically (``generator.files``): a crash leaves the previous file, never
        half a file; temporary files a killed run left beside it are removed."""
        data = {
            "version": CACHE_VERSION,
            "links": {url: vars(self._entries[url]) for url in sorted(self._entries)},
        }
        text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(path)
        write_atomic(path, text.encode("utf-8"), durable=True)

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

    def was_healthy(self, url: str) -> bool:
        """Whether ``url`` ever worked in a recorded run: only such links get grace."""
        found = self._entries.get(url)
        return found is not None and found.last_success is not None

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


