"""Verdicts: what one URL's answer means, in a sentence a contributor can act on."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus

from generator.links.collect import LinkSource
from generator.links.config import (
    BLOCKED_STATUSES,
    BOT_WALL,
    GONE_STATUSES,
    REDIRECT_STATUSES,
    SOFT_404,
)


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
    network_failure: bool = False  # this run only (not reported): see LinkRun.no_network


@dataclass(frozen=True)
class LinkRun:
    results: tuple[LinkResult, ...]
    offline: bool = False
    # Nothing could be reached at all (no name resolved, no server answered): the machine
    # has no network, so no link is judged and the history is left alone.
    no_network: bool = False

    def failed(self) -> bool:
        return any(r.fails_run for r in self.results)


@dataclass(frozen=True)
class Failure:
    """No usable HTTP answer."""

    verdict: Verdict
    reason: str
    retryable: bool
    network: bool = False  # no server took part (DNS, refused, unreachable): maybe no network at all


@dataclass(frozen=True)
class Page:
    """What the first part of an HTML body says."""

    title: str
    heading: str
    anchor_found: bool | None  # None: no anchor asked, or not decidable within the cap
    complete: bool  # the whole body was read


@dataclass(frozen=True)
class Answer:
    """The end of one request chain (redirects followed)."""

    status: int | None = None
    final_url: str | None = None
    moved_to: str | None = None  # where the leading permanent redirects point
    hops: tuple[str, ...] = ()
    failure: Failure | None = None
    retry_after: float | None = None
    content_type: str = ""
    challenge: bool = False  # a bot wall said so in its headers
    page: Page | None = None
    body_error: str | None = None


def phrase(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def judge(answer: Answer, fragment: str | None) -> tuple[Verdict, str]:
    """The verdict and a sentence for a contributor."""
    if answer.failure is not None:
        return answer.failure.verdict, answer.failure.reason
    status = answer.status
    if status is None:
        return Verdict.TRANSIENT, "no answer"
    final = answer.final_url
    via = f"redirects to {final}, which answered" if answer.hops else "answered"
    if answer.challenge:
        return Verdict.BLOCKED, f"{via} {phrase(status)} with a bot challenge"
    if 200 <= status < 300:
        page = answer.page
        if page is not None:
            for label, text in (("title", page.title), ("main heading", page.heading)):
                if text and BOT_WALL.search(text):
                    return Verdict.BLOCKED, f"bot wall: {label} says {clip(text)!r}"
            for label, text in (("title", page.title), ("main heading", page.heading)):
                if text and SOFT_404.search(text):
                    return Verdict.BROKEN, f"soft 404 (suspected): {label} says {clip(text)!r}"
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
            return Verdict.OK, f"{phrase(status)} via {final}{tail}"
        return Verdict.OK, f"{phrase(status)}{tail}"
    if status in GONE_STATUSES:
        gone = ": the resource was removed" if status == 410 else ""
        return Verdict.BROKEN, f"{via} {phrase(status)}{gone}"
    if status == 429:
        return Verdict.BLOCKED, f"{via} {phrase(status)}: rate limited"
    if status in BLOCKED_STATUSES:
        return Verdict.BLOCKED, f"{via} {phrase(status)}: the host refuses automated checks or needs a login"
    if 500 <= status < 600:
        return Verdict.TRANSIENT, f"{via} {phrase(status)}"
    if status in REDIRECT_STATUSES:
        return Verdict.BROKEN, f"{via} {phrase(status)} without a Location header"
    if 400 <= status < 500:
        return Verdict.BROKEN, f"{via} {phrase(status)}"
    if 300 <= status < 400:
        return Verdict.OK, f"{via} {phrase(status)}"
    return Verdict.BLOCKED, f"{via} non-standard status {status}"

