"""How untrusted text becomes inert in each place a page puts it: the one rule for the whole site.

Text from the data, from a linked server (titles, redirect targets) or from a file name is
text, never markup. Only the project's own templates write markup.

The Markdown pages mix Markdown and raw HTML, and Python-Markdown with the site's extensions
gives meaning to many ASCII characters: HTML-escaping alone leaves ``*e*{: onclick=…}``
(attr_list), ``[c](javascript:…)``, ``|`` (tables) and bare addresses (magiclink) active.
So ``md_text`` writes every character that Markdown or an enabled extension may read as
syntax as a numeric character reference. Python-Markdown passes references through as they
are and browsers show the character, which holds in all three places a template puts text:
Markdown inline text, raw HTML blocks and quoted HTML attributes (``href`` included: the
browser decodes the reference before it reads the address). Whitespace runs become one
space, because a line break lets text end a raw HTML block or start a heading or a list
(and one space cannot start an indented code block).

Two places must not get references, because nothing decodes them there: Markdown code spans
and fenced code (``fence``), and the page's front matter, which Material's templates print
without autoescaping (``front_matter_text``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from markupsafe import Markup, escape

# Markdown's own syntax, attr_list's braces, tables' pipe, magiclink's ':', '.', '@' (it links
# bare addresses and e-mails), and the HTML five.
MARKDOWN_ACTIVE = "\\`*_{}[]()#+-.!|~^=:$@"
_REFERENCES = {ord(ch): f"&#{ord(ch)};" for ch in MARKDOWN_ACTIVE} | {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&#34;",
    ord("'"): "&#39;",
}
_BREAKS = re.compile(r"[\t\n\r\f\v ]+")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def md_text(value: Any) -> Markup:
    """Any value as inert text for a Markdown page (inline text, raw HTML, attribute values)."""
    if isinstance(value, Markup):
        return value
    text = _BREAKS.sub(" ", "" if value is None else str(value))
    return Markup(text.translate(_REFERENCES))


def slug(value: str) -> Markup:
    """An id for a Markdown link target or an attr_list id, where references are not decoded.

    Dataset ids, tasks and scenes are validated slugs; anything else here is a bug.
    """
    if not _SLUG.match(value):
        raise ValueError(f"{value!r} is not a slug and cannot be put into a link target")
    return Markup(value)


def fence(text: str, info: str = "") -> Markup:
    """Text as a fenced code block that nothing inside it can close.

    The fence is longer than any run of backticks in the text: a fence closes only on a line
    of at least as many. Inside, Markdown reads nothing and the highlighter escapes HTML.
    """
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    bar = "`" * max(3, longest + 1)
    body = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return Markup(f"{bar}{info}\n{body}\n{bar}")


def front_matter_text(value: str) -> str:
    """Text for a front-matter field (title, description) that the theme prints as it is.

    Material's templates (``<title>``, the header, ``<meta>``) do not autoescape, so the value
    is HTML-escaped once here. Markdown never reads front matter, so nothing else is needed.
    """
    return str(escape(_BREAKS.sub(" ", value).strip(" ")))


def script_json(value: Any) -> Markup:
    """JSON for inside ``<script>``: ``<``, ``>`` and ``&`` as escapes, so no ``</script>``."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
