"""How the project behaves on the wire, for the link checker and the sample fetcher alike."""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime

PROJECT_NAME = "sku-survey"
PROJECT_URL = "https://github.com/sku-survey/sku-survey"  # mkdocs.yml's repo_url
USER_AGENT = f"{PROJECT_NAME}/0.1 (+{PROJECT_URL}; survey of SKU-level product-image datasets)"

# Answers that can heal by themselves: asking again later may succeed.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# A server asking to wait longer than this is not asked again in this run: a build or a
# link check must not stall on one host's schedule.
RETRY_AFTER_CAP_S = 10.0


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), or None.

    Unparseable values are None (no opinion); dates in the past are 0.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_wait(retry: int, base: float, retry_after: float | None, rng: random.Random) -> float | None:
    """Seconds to sleep before try ``retry + 2``, or None when the server asked for longer
    than ``RETRY_AFTER_CAP_S`` (then it is not asked again).

    Exponential backoff with jitter; a Retry-After within the cap is honoured, never cut short.
    """
    backoff = base * (2**retry) * rng.uniform(0.5, 1.0)
    if retry_after is None:
        return backoff
    if retry_after > RETRY_AFTER_CAP_S:
        return None
    return max(backoff, retry_after)
