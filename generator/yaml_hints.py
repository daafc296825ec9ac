"""Contributor-facing fixes for the usual YAML syntax mistakes, found at the line of the mistake."""

from __future__ import annotations

import re

from generator.problems import Problem

# The mistakes behind most YAML syntax errors, which PyYAML names in its own terms and often
# one line late. Each is looked for on the lines up to the one PyYAML points at.
_FULLWIDTH_COLON = re.compile(r"^\s*(?:-\s+)?[A-Za-z_][\w-]*\s*(：)")
_FLOW_TEXT_WITH_COLON = re.compile(r"[{,]\s*[A-Za-z_]+:\s+([^,{}\"']*?:\s[^,{}]*)")
_INDENT_ERRORS = (
    "mapping values are not allowed", "expected '-' indicator", "expected <block end>", "could not find expected ':'", "did not find expected key",
)
_LOOK_BACK = 3


def syntax_problem(text: str, display: str, line: int, column: int, message: str) -> Problem:
    """A YAML syntax error, at the line where the mistake is and with its fix when it is one
    of the usual ones (a tab, full-width punctuation, ': ' in an unquoted flow value, an
    indent that does not match its siblings)."""
    lines = text.split("\n")
    en, zh = f"YAML syntax error: {message}", f"YAML 语法错误：{message}"
    for n in range(line, max(0, line - 1 - _LOOK_BACK), -1):
        row = lines[n - 1] if 0 < n <= len(lines) else ""
        lead = row[: len(row) - len(row.lstrip(" \t"))]
        if "\t" in lead:
            return Problem(display, n, lead.index("\t") + 1, "", "a tab is used for indentation; replace the tab with spaces (YAML indents with spaces only)",
                           message_zh="缩进里用了制表符（Tab）；请把它换成空格（YAML 只能用空格缩进）")
        colon = _FULLWIDTH_COLON.match(row)
        if colon:
            return Problem(display, n, colon.start(1) + 1, "", "the key is followed by a full-width colon '：'; write an ASCII colon and a space (': ')",
                           message_zh="键后面用了全角冒号“：”；请改成半角冒号加空格（\": \"）")
        if "，" in row and ("[" in row or "{" in row):
            return Problem(display, n, row.index("，") + 1, "", "items are separated by a full-width comma '，'; write an ASCII comma ','",
                           message_zh="列表或映射中的各项用了全角逗号“，”分隔；请改成半角逗号“,”")
    row = lines[line - 1] if 0 < line <= len(lines) else ""
    quoted = _FLOW_TEXT_WITH_COLON.search(row) if "{" in row else None
    if quoted:
        return Problem(display, line, quoted.start(1) + 1, "", f"the text {quoted.group(1).strip()!r} inside {{…}} contains ': '; put the text in quotes",
                       message_zh=f"{{…}} 里的文字 {quoted.group(1).strip()!r} 含有 \": \"；请给这段文字加上引号")
    if any(marker in message for marker in _INDENT_ERRORS):
        for n in range(line, max(1, line - _LOOK_BACK), -1):
            indent = _indent(lines[n - 1])
            previous = next((lines[k] for k in range(n - 2, -1, -1) if lines[k].strip() and not lines[k].lstrip().startswith("#")), None)
            if indent is None or previous is None:
                continue
            before = _indent(previous) or 0
            siblings = before + (2 if previous.lstrip().startswith("- ") else 0)
            if indent != siblings and not previous.rstrip().endswith(":"):
                return Problem(display, n, indent + 1, "", f"this line is indented {indent} spaces but the line above it {siblings}; "
                               "indent it like the other keys at its level",
                               message_zh=f"这一行缩进了 {indent} 个空格，而上一行是 {siblings} 个；请与同一层的其他键对齐")
    return Problem(display, line, column, "", en, message_zh=zh)


def _indent(row: str) -> int | None:
    if not row.strip() or row.lstrip().startswith("#"):
        return None
    return len(row) - len(row.lstrip(" "))
