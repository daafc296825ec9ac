"""Edits of fixture text that fail loudly when the text they edit is not there.

``text.replace(old, new)`` returns the text unchanged when ``old`` is missing, so a test
built on it would go on passing, testing nothing, once the fixture changes under it.
"""

from __future__ import annotations


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with its one ``old`` replaced by ``new``; fails when ``old`` is absent or ambiguous."""
    found = text.count(old)
    if found != 1:
        where = "not in the text" if found == 0 else f"in the text {found} times (make it longer to pick one)"
        raise AssertionError(f"replace_once: {old!r} is {where}")
    return text.replace(old, new)


def replace_each(text: str, old: str, new: str) -> str:
    """``text`` with every ``old`` replaced (a base address, say); fails when there is none."""
    if old not in text:
        raise AssertionError(f"replace_each: {old!r} is not in the text")
    return text.replace(old, new)
