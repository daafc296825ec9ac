"""The shared network layer under the link checker: address guard, pinned connections,
deadlines against trickling servers, a machine without DNS, and damaged report files.

Real servers on 127.0.0.1; the resolver is replaced only to simulate DNS answers that a
test cannot get from the machine's own resolver (rebinding, no DNS at all)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import linkcheck
import pytest
from linkcheck import FAST, target
from loopback import Loopback, Raw, Reply, Silent

from generator.links import (
    NO_NETWORK,
    CheckerConfig,
    LinkCache,
    LinkResult,
    LinkRun,
    LinkSource,
    Verdict,
    check_links,
    format_report,
    merge_runs,
    read_report,
    write_report,
)

# the guard as it ships (no private addresses), tighter deadlines than the verdict tests
BASE = replace(FAST, deadline_per_url=1.0, retries=1, per_host_limit=4, allow_private=False)
LOOPBACK_ONLY = replace(BASE, allowed_addresses=frozenset({"127.0.0.1"}))


def check_one(url: str, config: CheckerConfig = LOOPBACK_ONLY, **kw: object) -> LinkResult:
    return linkcheck.check_one(url, config, **kw)


# ---------------------------------------------------------------------------
# The address guard
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"])
def test_loopback_in_every_spelling_is_refused_by_default(server: Loopback, host: str) -> None:
    result = check_one(server.url("/", host), BASE)
    assert result.verdict is Verdict.BROKEN and "not fetched" in result.reason
    assert server.hosts() == [] and result.attempts == 0


def test_a_redirect_to_another_private_address_is_refused_at_that_hop(server: Loopback) -> None:
    server.route("/out", Reply(302, b"", {"Location": f"http://127.0.0.2:{server.port}/in"}))
    result = check_one(server.url("/out"))
    assert result.verdict is Verdict.BROKEN
    assert f"redirects to http://127.0.0.2:{server.port}/in, but 127.0.0.2 resolves to loopback" in result.reason
    assert server.count() == 1  # the first hop only


def test_the_connection_goes_to_the_vetted_address_with_the_name_in_host(server: Loopback) -> None:
    calls: list[str] = []

    def rebinding(host: str, port: object, **kw: object) -> list[tuple[object, ...]]:
        # first answer vetted; any later look-up would rebind to a refused address
        calls.append(host)
        address = "127.0.0.1" if len(calls) == 1 else "10.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))]

    server.fallback = Reply(200)
    urls = [server.url(f"/{i}", "docs.example") for i in range(3)]
    run = check_links([target(u) for u in urls], LOOPBACK_ONLY, resolve=rebinding)
    assert [r.verdict for r in run.results] == [Verdict.OK] * 3
    assert calls == ["docs.example"]  # resolved once for the run, never again at connect time
    assert server.hosts() == [f"docs.example:{server.port}"] * 3


def test_allow_private_is_the_way_past_the_guard(server: Loopback) -> None:
    server.route("/", Reply(200))
    result = check_one(server.url("/", "localhost"), replace(BASE, allow_private=True))
    assert result.verdict is Verdict.OK and server.hosts() == [f"localhost:{server.port}"]


# ---------------------------------------------------------------------------
# Deadlines against trickling servers
# ---------------------------------------------------------------------------


def test_headers_trickled_a_byte_at_a_time_are_cut_at_the_deadline(server: Loopback) -> None:
    server.route("/slow-headers", Raw(b"", b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000, trickle=True))
    result = check_one(server.url("/slow-headers"), replace(LOOPBACK_ONLY, retries=0))
    assert result.verdict is Verdict.TRANSIENT and "deadline passed" in result.reason
    assert server.cut.wait(5), "the checker kept reading the trickle"


def test_a_page_body_trickled_a_byte_at_a_time_is_cut_and_never_ok(server: Loopback) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html>"
    server.route("/slow-body", Raw(head, b" " * 100_000, trickle=True))
    result = check_one(server.url("/slow-body"), replace(LOOPBACK_ONLY, retries=0))
    assert result.verdict is Verdict.TRANSIENT and "deadline passed while reading the answer" in result.reason
    assert server.cut.wait(5)


def test_a_silent_server_costs_one_deadline_not_every_retry(server: Loopback) -> None:
    server.route("/hang", Silent())  # accepts, reads the request, never answers
    config = replace(LOOPBACK_ONLY, read_timeout=0.5, deadline_per_url=0.8, retries=5)
    result = check_one(server.url("/hang"), config)
    assert result.verdict is Verdict.TRANSIENT
    assert result.attempts <= 2  # one full timeout, then at most one short retry


# ---------------------------------------------------------------------------
# No DNS: one run-level verdict, whatever way the resolver fails
# ---------------------------------------------------------------------------


def _failing(error: BaseException):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def resolve(host: str, port: object, **kw: object) -> list[tuple[object, ...]]:
        calls.append(host)
        raise error

    return resolve, calls


NO_DNS_ERRORS = [
    socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
    socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
    socket.gaierror(socket.EAI_FAIL, "Non-recoverable failure in name resolution"),
    OSError(101, "Network is unreachable"),
]


@pytest.mark.parametrize("error", NO_DNS_ERRORS, ids=lambda e: str(e))
def test_no_dns_at_all_is_one_run_level_message_and_nothing_judged(error: BaseException, tmp_path: Path) -> None:
    resolve, calls = _failing(error)
    urls = [f"https://host{i % 5}.example/page{i}" for i in range(40)] + ["https://arxiv.org/abs/1"]
    cache = LinkCache()
    run = check_links([target(u) for u in urls], BASE, cache, resolve=resolve)
    assert run.no_network and not run.failed()
    assert {r.verdict for r in run.results} == {Verdict.SKIPPED}
    assert sorted(calls) == sorted({f"host{i}.example" for i in range(5)} | {"arxiv.org"})  # each name once
    assert cache.entry(urls[0]) is None  # the history is left alone
    text = format_report(run, "text")
    assert text.count(NO_NETWORK) == 1 and len(text.splitlines()) == 1


@pytest.mark.parametrize("error", NO_DNS_ERRORS, ids=lambda e: str(e))
def test_a_name_that_does_not_resolve_gets_one_verdict_whatever_the_error(server: Loopback, error: BaseException) -> None:
    resolve, _ = _failing(error)

    def some_resolve(host: str, port: object, **kw: object) -> list[tuple[object, ...]]:
        if host == "127.0.0.1":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]
        return resolve(host, port, **kw)

    server.route("/", Reply(200))
    run = check_links([target(server.url("/")), target("https://gone.example/")], LOOPBACK_ONLY, resolve=some_resolve)
    gone = next(r for r in run.results if "gone.example" in r.url)
    assert not run.no_network
    assert (gone.verdict, gone.reason) == (Verdict.BROKEN, "host not found (DNS)")


# ---------------------------------------------------------------------------
# The report and the history on disk
# ---------------------------------------------------------------------------


def _run() -> LinkRun:
    source = LinkSource("data/datasets.yaml", 5, 7, "paper", "rpc")
    return LinkRun((
        LinkResult("https://a.example/", Verdict.OK, 200, "https://a.example/", 1, 0.1, "200 OK", (source,)),
        LinkResult("https://b.example/", Verdict.BROKEN, 200, "https://b.example/", 1, 0.1,
                   "soft 404 (suspected): title says '<script>alert(1)</script>'", (source,), fails_run=True),
    ))


@pytest.mark.parametrize("text", [
    "", "{trunc", '{"format": "sku-survey link report", "version": 2, "links": [{"url": "x"', "[]",
    '[{"url": "https://a.example/", "verdict": "ok"}]', '{"format": "other", "version": 2, "links": []}',
    '{"format": "sku-survey link report", "version": 1, "links": []}',
    '{"format": "sku-survey link report", "version": 2, "links": [{"url": 5}]}', "\udcff",
], ids=["empty", "damaged", "truncated", "old-list", "old-rows", "foreign", "old-version", "wrong-type", "not-utf8"])
def test_a_damaged_report_is_ignored_with_one_warning_naming_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    run, warnings = read_report(path)
    assert run is None and len(warnings) == 1 and str(path) in warnings[0]


def test_the_report_round_trips_and_keeps_server_text_as_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "links" / "report.json"
    write_report(path, _run())
    run, warnings = read_report(path)
    assert warnings == () and run == _run()
    assert "'<script>alert(1)</script>'" in run.results[1].reason  # data, escaped by the templates
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_a_temporary_file_left_by_a_killed_save_is_removed_by_the_next(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    leftover = tmp_path / ".cache.json.k1ll3d.tmp"
    leftover.write_text("{half")
    os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    LinkCache().save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json"]
    assert LinkCache.read(path)[1] is None


def test_only_merges_into_the_previous_report() -> None:
    previous = _run()
    fresh = LinkRun((LinkResult("https://b.example/", Verdict.OK, 200, None, 1, 0.1, "200 OK"),))
    merged = merge_runs(previous, fresh, frozenset({"https://a.example/", "https://b.example/"}))
    assert [(r.url, r.verdict) for r in merged.results] == [("https://a.example/", Verdict.OK), ("https://b.example/", Verdict.OK)]
    gone = merge_runs(previous, fresh, frozenset({"https://b.example/"}))  # a.example left the data
    assert [r.url for r in gone.results] == ["https://b.example/"]
    assert json.loads(format_report(merged, "json"))["links"][1]["reason"] == "200 OK"


def test_the_build_reads_a_damaged_report_as_no_status_with_one_warning(tmp_path: Path) -> None:
    from generator.project import Project
    from generator.staging import read_link_statuses

    project = Project(tmp_path)
    project.link_report.parent.mkdir(parents=True)
    project.link_report.write_text('{"format": "sku-survey link report", "version": 2, "links": [{"url"', encoding="utf-8")
    read = read_link_statuses(project)
    assert (read.by_url, read.has_report) == ({}, False)
    assert len(read.warnings) == 1 and str(project.link_report) in read.warnings[0]
    write_report(project.link_report, _run())
    read = read_link_statuses(project)
    assert read.has_report and read.warnings == () and read.by_url["https://b.example/"].verdict == "broken"


def test_a_resolver_that_never_answers_costs_one_lookup_timeout_for_all_hosts() -> None:
    released = threading.Event()
    calls: list[str] = []

    def hanging(host: str, port: object, **kw: object) -> list[tuple[object, ...]]:
        calls.append(host)
        released.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    urls = [f"https://h{i}.example/" for i in range(40)]
    try:
        run = check_links([target(u) for u in urls], replace(BASE, lookup_timeout=0.3), resolve=hanging)
    finally:
        released.set()
    assert run.no_network and {r.verdict for r in run.results} == {Verdict.SKIPPED}
    assert sorted(calls) == sorted(f"h{i}.example" for i in range(40))  # all asked at once, each once
