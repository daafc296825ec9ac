"""Where URLs live in a dataset entry: the one table, read by the link checker (``links``),
the changelog (on raw data that may not validate) and the link-health page.

Input: a validated ``Dataset`` or a raw entry as loaded from YAML (the same walk reads
both). Output: each URL with its role, its YAML path and the HTTP statuses expected of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from generator.model import Catalog

LinkRole = Literal["homepage", "download", "paper", "code", "competition", "solution", "sample", "licence", "source", "result"]
YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class UrlPlace:
    role: LinkRole
    path: tuple[str, ...]  # keys from the entry; "*" is every item of a list
    expect_key: str | None = None  # a key beside the URL listing the statuses expected of it


URL_PLACES: tuple[UrlPlace, ...] = (
    UrlPlace("homepage", ("links", "homepage")),
    UrlPlace("download", ("links", "downloads", "*", "url"), "expect"),
    UrlPlace("paper", ("links", "paper", "url")),
    UrlPlace("code", ("links", "code", "*", "url"), "expect"),
    UrlPlace("licence", ("licence", "url")),
    UrlPlace("sample", ("samples", "*", "url")),
    UrlPlace("competition", ("competitions", "*", "url")),
    UrlPlace("solution", ("competitions", "*", "solutions", "*", "url")),
    UrlPlace("source", ("sources", "*", "url")),
    UrlPlace("result", ("results", "*", "source", "url")),
)
# the links a reader follows to get the data or read about it: the link-health page's rows
PAGE_ROLES: tuple[LinkRole, ...] = ("homepage", "download", "paper", "code")


@dataclass(frozen=True)
class CatalogLink:
    """One URL of the catalogue, with the YAML path where it sits (for link checking)."""

    url: str
    role: LinkRole
    dataset_id: str
    path: YamlPath
    expect: frozenset[int] = frozenset()


@dataclass(frozen=True)
class EntryUrl:
    url: str
    role: LinkRole
    path: YamlPath  # from the entry
    expect: frozenset[int]


def entry_urls(entry: Any) -> Iterator[EntryUrl]:
    """The URLs of one entry, place by place in ``URL_PLACES`` order; a raw entry's values
    that are not non-empty strings are skipped (validation reports them)."""
    for place in URL_PLACES:
        for path, holder, url in _walk(entry, place.path):
            if isinstance(url, str) and url:
                expect = _get(holder, place.expect_key) if place.expect_key else None
                codes = frozenset(c for c in expect if isinstance(c, int)) if isinstance(expect, (list, tuple)) else frozenset()
                yield EntryUrl(url, place.role, path, codes)


def catalog_links(catalog: Catalog) -> list[CatalogLink]:
    """Every external URL in the catalogue, dataset by dataset."""
    return [
        CatalogLink(url=u.url, role=u.role, dataset_id=d.id, path=("datasets", i, *u.path), expect=u.expect)
        for i, d in enumerate(catalog.datasets)
        for u in entry_urls(d)
    ]


def _get(node: Any, key: str) -> Any:
    # a raw entry is a mapping, a validated one a model: the same keys either way
    return node.get(key) if isinstance(node, Mapping) else getattr(node, key, None)


def _walk(node: Any, path: tuple[str, ...], at: YamlPath = ()) -> Iterator[tuple[YamlPath, Any, Any]]:
    """(the path walked, the node holding the last key, the value there) for each match."""
    head, rest = path[0], path[1:]
    if head == "*":
        for i, item in enumerate(node if isinstance(node, (list, tuple)) else ()):
            yield from _walk(item, rest, (*at, i))
        return
    value = _get(node, head)
    if value is None:
        return
    if rest:
        yield from _walk(value, rest, (*at, head))
    else:
        yield (*at, head), node, value
