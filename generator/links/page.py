"""Page sniffing: the title and main heading of an HTML page, and whether an anchor exists."""

from __future__ import annotations

import codecs
import html
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from generator.links.config import (
    CHUNK_BYTES,
    HTML_TYPES,
    UNCHECKABLE_FRAGMENT,
    CheckerConfig,
)
from generator.links.verdict import Page
from generator.net.deadline import Deadline


def checkable_fragment(url: str) -> str | None:
    fragment = unquote(urlsplit(url).fragment)
    if not fragment or UNCHECKABLE_FRAGMENT.match(fragment):
        return None
    return fragment


def is_html(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in HTML_TYPES


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(rb"<h1[^>]*>(.*?)</h1", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset=[\"']?([\w-]+)", re.IGNORECASE)


def encoding_of(content_type: str, head: bytes) -> str:
    found = _HEADER_CHARSET.search(content_type)
    name = found.group(1) if found else None
    if name is None:
        meta = _META_CHARSET.search(head)
        name = meta.group(1).decode("ascii") if meta else None
    try:
        return codecs.lookup(name).name if name else "utf-8"
    except LookupError:
        return "utf-8"


def text_of(raw: bytes, encoding: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", raw.decode(encoding, errors="replace"))).split())


def anchor_pattern(fragment: str) -> re.Pattern[str]:
    # GitHub renders README headings with a "user-content-" prefix and rewrites the link.
    names = {re.escape(fragment), re.escape(html.escape(fragment))}
    value = "(?:user-content-)?(?:" + "|".join(sorted(names)) + ")"
    return re.compile(rf"""\b(?:id|name)\s*=\s*(?:"{value}"|'{value}'|{value}(?=[\s/>]))""")



def read_page(response: Any, content_type: str, fragment: str | None, config: CheckerConfig, deadline: Deadline) -> Page:
    """The title, main heading and anchor of the first bytes of an HTML body (capped)."""
    cap = max(config.max_anchor_bytes, config.max_body_bytes) if fragment else config.max_body_bytes
    anchor = anchor_pattern(fragment) if fragment else None
    body = bytearray()
    found: bool | None = None
    complete = True
    if anchor is None:
        # one read of at most ``cap`` bytes: the title and heading sit in the first few KiB
        body += response.raw.read(cap, decode_content=True)
        complete = len(body) < cap
        chunks: Any = ()
    else:
        chunks = response.iter_content(chunk_size=CHUNK_BYTES)
    for chunk in chunks:
        body += chunk
        if anchor is not None and anchor.search(bytes(body).decode(encoding_of(content_type, bytes(body[:2048])), "replace")):
            found = True
            complete = False
            break
        if len(body) >= cap or deadline.expired:
            complete = False
            break
    if anchor is not None and found is None and complete:
        found = False
    head = bytes(body[: config.max_body_bytes])
    encoding = encoding_of(content_type, head[:2048])
    title = _TITLE.search(head)
    heading = _H1.search(head)
    return Page(
        title=text_of(title.group(1), encoding) if title else "",
        heading=text_of(heading.group(1), encoding) if heading else "",
        anchor_found=found,
        complete=complete,
    )
