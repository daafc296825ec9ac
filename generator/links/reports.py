"""Reports: text, JSON, Markdown (a CI job summary) or GitHub annotations; reading one back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Literal

from generator.files import write_atomic
from generator.links.collect import LinkSource
from generator.links.verdict import SEVERITY, LinkResult, LinkRun, Verdict

NO_NETWORK = "no network: nothing could be checked; use --offline"

ReportFormat = Literal["text", "json", "markdown", "github"]


def _needs_attention(result: LinkResult) -> bool:
    return result.verdict is not Verdict.OK and not result.expected


def _label(result: LinkResult, grace_note: bool = True) -> str:
    label = str(result.verdict)
    if result.verdict is Verdict.BROKEN and not result.fails_run and grace_note:
        label += f" ({result.consecutive_failures} run{'s' if result.consecutive_failures != 1 else ''}, not failing yet)"
    return label


def _summary(run: LinkRun) -> str:
    counts = {v: 0 for v in Verdict}
    declared = 0
    for result in run.results:
        counts[result.verdict] += 1
        declared += result.expected
    parts = [f"{counts[v]} {v}" for v in Verdict]
    failing = sum(r.fails_run for r in run.results)
    cached = sum(r.from_cache for r in run.results)
    text = f"{len(run.results)} links: " + ", ".join(parts)
    if declared:
        text += f"; {declared} answered as the data declares"
    if cached:
        text += f"; {cached} from cache"
    if run.offline:
        text += "; offline, nothing was checked"
    if run.no_network:
        text += f"; {NO_NETWORK}"
    return text + f"; {failing} fail{'s' if failing == 1 else ''} the run"


def _report_json(run: LinkRun) -> str:
    rows = [
        {
            "url": r.url,
            "verdict": str(r.verdict),
            "http_status": r.http_status,
            "final_url": r.final_url,
            "attempts": r.attempts,
            "elapsed_s": round(r.elapsed_s, 3),
            "reason": r.reason,
            "expected": r.expected,
            "from_cache": r.from_cache,
            "consecutive_failures": r.consecutive_failures,
            "fails_run": r.fails_run,
            "positions": [
                {"file": s.file, "line": s.line, "column": s.column, "role": s.role, "dataset_id": s.dataset_id}
                for s in r.sources
            ],
        }
        for r in run.results
    ]
    document = {"format": REPORT_FORMAT, "version": REPORT_VERSION, "offline": run.offline, "links": rows}
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _report_text(run: LinkRun) -> str:
    lines = []
    for result in run.results:
        if not _needs_attention(result) or run.offline or run.no_network:
            continue
        places = result.sources or (LinkSource("<unknown>", 0, 0, ""),)
        for source in places:
            line = f"{source.where()}: {_label(result)}: {result.url} ({result.reason})"
            lines.append((source.file, source.line, source.column, result.url, line))
    return "\n".join([_summary(run), *(line[-1] for line in sorted(lines))]) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _report_markdown(run: LinkRun) -> str:
    rank = {v: i for i, v in enumerate(SEVERITY)}
    shown = sorted(
        (r for r in run.results if _needs_attention(r) and not run.offline and not run.no_network),
        key=lambda r: (not r.fails_run, rank[r.verdict], r.url),
    )
    out = ["## Link check", "", _summary(run), ""]
    if not shown:
        out.append("Every link answered as expected." if not run.offline else "No link was checked (offline).")
        return "\n".join(out) + "\n"
    out += ["| Verdict | Link | Where | Why |", "| --- | --- | --- | --- |"]
    for r in shown:
        verdict = f"**{_label(r)}**" if r.fails_run else _label(r)
        where = "<br>".join(f"`{_md_cell(s.file)}:{s.line}`" for s in r.sources) or "-"
        out.append(f"| {verdict} | {_md_cell(r.url)} | {where} | {_md_cell(r.reason)} |")
    return "\n".join(out) + "\n"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _report_github(run: LinkRun) -> str:
    lines = []
    for r in run.results:
        if not _needs_attention(r) or r.verdict is Verdict.SKIPPED:
            continue
        if r.fails_run:
            level, title = "error", "broken link"
        elif r.verdict is Verdict.BROKEN:
            level, title = "warning", "broken link (within grace)"
        elif r.verdict is Verdict.REDIRECTED:
            level, title = "notice", "moved link"
        else:
            level, title = "warning", f"{r.verdict} link"
        for s in r.sources:
            lines.append(
                (s.file, s.line, s.column, r.url,
                 f"::{level} file={_gh_property(s.file)},line={max(s.line, 1)},col={max(s.column, 1)},"
                 f"title={_gh_property(title)}::{_gh_data(f'{r.url}: {r.reason}')}")
            )
    return "".join(line[-1] + "\n" for line in sorted(lines))


def format_report(run: LinkRun, fmt: ReportFormat) -> str:
    """The run as text, JSON, Markdown (a CI job summary) or GitHub workflow annotations."""
    match fmt:
        case "json":
            return _report_json(run)
        case "text":
            return _report_text(run)
        case "markdown":
            return _report_markdown(run)
        case "github":
            return _report_github(run)
    raise ValueError(f"unknown report format {fmt!r}; expected one of text, json, markdown, github")


class LinkReportError(ValueError):
    """A report file that cannot be read back (``load_report``)."""


REPORT_FORMAT = "sku-survey link report"
REPORT_VERSION = 2


def _typed(row: dict[str, object], name: str, kinds: tuple[type, ...]) -> object:
    value = row[name]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(f"{name} is {value!r}")
    return value


def _result(row: object) -> LinkResult:
    if not isinstance(row, dict):
        raise ValueError(f"a link is {type(row).__name__}, not an object")
    positions = _typed(row, "positions", (list,))
    sources = []
    for p in positions:  # type: ignore[attr-defined]
        if not isinstance(p, dict):
            raise ValueError("a position is not an object")
        sources.append(
            LinkSource(
                str(_typed(p, "file", (str,))), int(_typed(p, "line", (int,))),
                int(_typed(p, "column", (int,))), str(_typed(p, "role", (str,))),
                p.get("dataset_id") if isinstance(p.get("dataset_id"), str) else None,
            )
        )
    status = _typed(row, "http_status", (int, type(None)))
    final = _typed(row, "final_url", (str, type(None)))
    return LinkResult(
        url=str(_typed(row, "url", (str,))),
        verdict=Verdict(_typed(row, "verdict", (str,))),
        http_status=status,  # type: ignore[arg-type]
        final_url=final,  # type: ignore[arg-type]
        attempts=int(_typed(row, "attempts", (int,))),
        elapsed_s=float(_typed(row, "elapsed_s", (int, float))),  # type: ignore[arg-type]
        reason=str(_typed(row, "reason", (str,))),
        sources=tuple(sources),
        expected=bool(_typed(row, "expected", (bool,))),
        from_cache=bool(_typed(row, "from_cache", (bool,))),
        consecutive_failures=int(_typed(row, "consecutive_failures", (int,))),
        fails_run=bool(_typed(row, "fails_run", (bool,))),
    )


def read_report(path: Path) -> tuple[LinkRun | None, tuple[str, ...]]:
    """The run a JSON report holds, and warnings; a missing file is (None, ()).

    A damaged, truncated, foreign or old-format file is (None, one warning naming it): the
    build then shows no link status rather than failing.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, ()
    except (OSError, UnicodeDecodeError) as exc:
        return None, (f"{path}: cannot read the link report ({exc}); pages show no link status",)
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
            raise ValueError("not a link report")
        if data.get("version") != REPORT_VERSION:
            raise ValueError(f"expected version {REPORT_VERSION}, got {data.get('version')!r}")
        rows = data["links"]
        if not isinstance(rows, list):
            raise ValueError("'links' is not a list")
        results = tuple(sorted((_result(row) for row in rows), key=lambda r: r.url))
    except (ValueError, KeyError, TypeError) as exc:
        return None, (
            f"{path}: not a link report this version can read ({exc}); ignored, pages show no link status "
            "(run `sku-survey links` to write a new one)",
        )
    return LinkRun(results, offline=data.get("offline") is True), ()


def load_report(path: Path) -> dict[str, LinkResult]:
    """The results of a JSON report by URL; a missing file is {}; raises ``LinkReportError``."""
    run, warnings = read_report(path)
    if warnings:
        raise LinkReportError(warnings[0])
    return {} if run is None else {r.url: r for r in run.results}


def write_report(path: Path, run: LinkRun) -> None:
    """The JSON report, written atomically (a killed run leaves the previous report)."""
    from generator.links.history import remove_leftovers

    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    write_atomic(path, format_report(run, "json").encode("utf-8"))


def merge_runs(previous: LinkRun | None, fresh: LinkRun, keep: frozenset[str]) -> LinkRun:
    """``fresh`` over ``previous`` (``links --only``): results of URLs in ``keep`` that this
    run did not check are carried over, so the site does not lose them."""
    merged = {} if previous is None else {r.url: r for r in previous.results if r.url in keep}
    merged.update((r.url, r) for r in fresh.results)
    return replace(fresh, results=tuple(merged[url] for url in sorted(merged)))
