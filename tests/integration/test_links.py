"""Link checker against real HTTP servers on 127.0.0.1, counting what each server was asked."""

from __future__ import annotations

import io
import json
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from linkcheck import FAST, check_one, target
from loopback import Loopback, Raw, Reply, Reset, Silent

from generator.errors import ProblemsFound
from generator.links import (
    CheckerConfig,
    HostPolicy,
    LinkCache,
    LinkResult,
    LinkRun,
    LinkSource,
    Verdict,
    check_links,
    dedupe_targets,
    format_report,
    load_report,
    targets_from_markdown,
    targets_from_url_file,
)
from generator.links.ratelimit import HostGate

# ---------------------------------------------------------------------------
# Answers and verdicts
# ---------------------------------------------------------------------------


def test_200_is_ok_after_one_request(server: Loopback) -> None:
    server.route("/ok", Reply(200))
    result = check_one(server.url("/ok"))
    assert result.verdict is Verdict.OK
    assert result.http_status == 200 and result.attempts == 1 and not result.fails_run
    assert server.count("/ok") == 1


def test_404_is_broken_and_asked_once(server: Loopback) -> None:
    result = check_one(server.url("/missing"))
    assert result.verdict is Verdict.BROKEN and result.http_status == 404
    assert result.fails_run and "404 Not Found" in result.reason
    assert server.count("/missing") == 1


def test_410_is_broken_and_asked_once(server: Loopback) -> None:
    server.route("/gone", Reply(410))
    result = check_one(server.url("/gone"), role="download")
    assert result.verdict is Verdict.BROKEN and "410 Gone" in result.reason
    assert server.count("/gone") == 1


def test_301_then_308_chain_is_redirected_with_the_new_url(server: Loopback) -> None:
    server.route("/old", Reply(301, b"", {"Location": "/mid"}))
    server.route("/mid", Reply(308, b"", {"Location": server.url("/new")}))
    server.route("/new", Reply(200))
    result = check_one(server.url("/old"))
    assert result.verdict is Verdict.REDIRECTED
    assert result.reason == f"moved to {server.url('/new')}: update the data"
    assert result.final_url == server.url("/new") and result.attempts == 3
    assert [server.count(p) for p in ("/old", "/mid", "/new")] == [1, 1, 1]
    assert not result.fails_run


def test_temporary_redirect_is_ok(server: Loopback) -> None:
    server.route("/latest", Reply(302, b"", {"Location": "/v2"}))
    server.route("/v2", Reply(200))
    result = check_one(server.url("/latest"))
    assert result.verdict is Verdict.OK and result.final_url == server.url("/v2")
    assert server.count("/latest") == 1 and server.count("/v2") == 1


def test_redirect_to_a_404_is_broken(server: Loopback) -> None:
    server.route("/moved", Reply(301, b"", {"Location": "/nowhere"}))
    result = check_one(server.url("/moved"))
    assert result.verdict is Verdict.BROKEN
    assert result.reason == f"redirects to {server.url('/nowhere')}, which answered 404 Not Found"


def test_redirect_loop_is_broken_and_stops(server: Loopback) -> None:
    server.route("/a", Reply(302, b"", {"Location": "/b"}))
    server.route("/b", Reply(302, b"", {"Location": "/a"}))
    result = check_one(server.url("/a"))
    assert result.verdict is Verdict.BROKEN and result.reason.startswith("redirect loop:")
    assert server.count("/a") == 1 and server.count("/b") == 1


def test_too_many_redirects_is_broken(server: Loopback) -> None:
    server.route("/hop", lambda request: Reply(302, b"", {"Location": f"/hop?n={request.nth}"}))
    result = check_one(server.url("/hop"), replace(FAST, max_redirects=3))
    assert result.verdict is Verdict.BROKEN and result.reason == "more than 3 redirects"
    assert server.count() == 4


def test_429_with_retry_after_is_honoured_then_ok(server: Loopback) -> None:
    server.route("/busy", [Reply(429, b"", {"Retry-After": "1"}), Reply(200)])
    slept: list[float] = []
    result = check_one(server.url("/busy"), sleep=slept.append)
    assert result.verdict is Verdict.OK and result.attempts == 2
    assert server.count("/busy") == 2
    assert slept == [1.0]  # the second try waited what the server asked, not the 0.01 s backoff


def test_retry_after_beyond_the_cap_is_not_asked_again(server: Loopback) -> None:
    server.route("/later", Reply(429, b"", {"Retry-After": "3600"}))
    result = check_one(server.url("/later"))
    assert result.verdict is Verdict.BLOCKED and "more than the 10 s cap" in result.reason
    assert server.count("/later") == 1


def test_503_twice_then_200_is_asked_exactly_three_times(server: Loopback) -> None:
    server.route("/flaky", [Reply(503), Reply(503), Reply(200)])

    result = check_one(server.url("/flaky"), role="download")
    assert result.verdict is Verdict.OK and result.attempts == 3
    assert server.count("/flaky") == 3


def test_persistent_503_is_transient_and_not_failing(server: Loopback) -> None:
    server.route("/down", Reply(503))
    result = check_one(server.url("/down"), replace(FAST, retries=1))
    assert result.verdict is Verdict.TRANSIENT and not result.fails_run
    assert server.count("/down") == 2


def test_head_405_falls_back_to_get(server: Loopback) -> None:
    server.route("/file.zip", lambda request: Reply(405) if request.method == "HEAD" else Reply(200, b"PK\x03\x04", content_type="application/zip"))

    result = check_one(server.url("/file.zip"), role="download")
    assert result.verdict is Verdict.OK and result.attempts == 2
    assert server.count("/file.zip", "HEAD") == 1 and server.count("/file.zip", "GET") == 1


def test_download_answered_by_head_alone(server: Loopback) -> None:
    server.route("/data.tar", Reply(200, b"x" * 100, content_type="application/x-tar"))
    result = check_one(server.url("/data.tar"), role="download")
    assert result.verdict is Verdict.OK
    assert server.count("/data.tar", "HEAD") == 1 and server.count("/data.tar", "GET") == 0


def test_one_gigabyte_body_is_not_downloaded(server: Loopback) -> None:
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % 10**9
    server.route("/huge", Raw(head + b"<html><head><title>Big</title></head><body>", b"<p>" + b"x" * (16 * 1024 - 3)))
    result = check_one(server.url("/huge"))
    assert result.verdict is Verdict.OK
    assert server.cut.wait(5)
    assert server.sent < 1_000_000


def test_reset_connection_is_retried_then_transient(server: Loopback) -> None:
    server.route("/reset", Reset())
    result = check_one(server.url("/reset"), replace(FAST, retries=1))
    assert result.verdict is Verdict.TRANSIENT
    assert "reset" in result.reason or "closed the connection" in result.reason
    assert server.count("/reset") == 2 and result.attempts == 2


def test_server_that_never_answers_times_out(server: Loopback) -> None:
    server.route("/silent", Silent())
    config = replace(FAST, read_timeout=0.3, retries=1)
    result = check_one(server.url("/silent"), config)
    assert result.verdict is Verdict.TRANSIENT and "no answer within 0.3 s" in result.reason
    assert server.count("/silent") == 2


def test_deadline_per_url_bounds_a_slow_server(server: Loopback) -> None:
    server.route("/slow", Silent())
    config = replace(FAST, read_timeout=5.0, deadline_per_url=0.5)
    result = check_one(server.url("/slow"), config)
    # cut by the 0.5 s deadline, not the 5 s read timeout, and not tried again after it;
    # which of the two notices first (the deadline's cut or the read) is up to the scheduler
    assert result.verdict is Verdict.TRANSIENT and "0.5 s" in result.reason, result.reason
    assert server.count("/slow") == 1 and result.attempts == 1


def test_refused_connection_is_broken_without_retry() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = check_one(f"http://127.0.0.1:{port}/")
    assert result.verdict is Verdict.BROKEN and "refused" in result.reason
    assert result.attempts == 1


# ---------------------------------------------------------------------------
# Politeness and the guard
# ---------------------------------------------------------------------------


def test_per_host_limit_is_never_exceeded(server: Loopback) -> None:
    # the delay keeps requests in flight long enough to overlap; the server counts them from
    # arrival to the start of the answer (after that the client may rightly start the next)
    server.route("/item", Reply(200, delay=0.08))
    urls = [server.url(f"/item?n={i}") for i in range(24)]
    config = replace(FAST, per_host_limit=3, workers=12)
    run = check_links([target(u) for u in urls], config)
    assert all(r.verdict is Verdict.OK for r in run.results)
    assert server.count() == 24
    assert server.max_active == 3  # reached, never passed


class FakeClock:
    """The gate's clock, moved only by the test: the schedule is checked, not the machine's speed."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drain(gate: HostGate, clock: FakeClock, on_start: Callable[[str], None] = lambda host: None) -> list[float]:
    """Start every queued job as soon as the gate's own schedule allows; the start times."""
    starts = []
    while (due := gate.due()) is not None:
        clock.now = max(clock.now, due)
        job = gate.next_job()  # due now: returns without waiting
        assert job is not None
        starts.append(round(clock.now - 100.0, 6))
        on_start(job[0])
        gate.release(job[0])
    return starts


def test_per_host_interval_spaces_request_starts() -> None:
    clock = FakeClock()
    gate = HostGate(replace(FAST, per_host_limit=4, per_host_interval=0.1), clock=clock)
    for i in range(5):
        gate.enqueue(target(f"https://a.example/{i}"))
    gate.enqueue(target("https://b.example/"))
    starts = drain(gate, clock)
    # a.example every 0.1 s; b.example is another host, so it does not wait for a.example
    assert starts == [0.0, 0.0, 0.1, 0.2, 0.3, 0.4]


def test_a_host_that_says_429_is_spaced_out_then_sped_up_again() -> None:
    clock = FakeClock()
    gate = HostGate(replace(FAST, per_host_limit=1, per_host_interval=0.0), clock=clock)
    for i in range(4):
        gate.enqueue(target(f"https://busy.example/{i}"))
    answers = iter(["429", "ok", "ok", "ok"])

    def answer(host: str) -> None:
        if next(answers) == "429":
            gate.slow_down(host, retry_after=0.0)
        else:
            gate.speed_up(host)

    # after the 429: the adaptive spacing (0.5 s), more than the 0 s asked; the start at 0.5
    # was spaced while the host was slow, and its answer (no 429) brings the spacing back to
    # the host's own (none): the last two start together
    assert drain(gate, clock, answer) == [0.0, 0.5, 1.0, 1.0]


def test_a_429_is_honoured_by_the_real_checker(server: Loopback) -> None:
    server.route("/busy", [Reply(429, headers={"Retry-After": "0"}), Reply(200)])
    config = replace(FAST, per_host_limit=1, per_host_interval=0.0, workers=2)
    run = check_links([target(server.url(f"/busy?n={i}")) for i in range(3)], config)
    assert all(r.verdict is Verdict.OK for r in run.results)
    assert server.count("/busy") == 4 and [r.status for r in server.requests()].count(429) == 1


def test_host_overrides_match_subdomains() -> None:
    config = CheckerConfig()
    assert config.policy_for("export.arxiv.org") == config.host_overrides["arxiv.org"]
    assert config.policy_for("www.kaggle.com").limit == 1
    assert config.policy_for("example.org") == HostPolicy(config.per_host_limit, config.per_host_interval)


def test_private_address_is_refused_without_allow_private(server: Loopback) -> None:
    server.route("/ok", Reply(200))
    result = check_one(server.url("/ok"), replace(FAST, allow_private=False))
    assert result.verdict is Verdict.BROKEN
    assert "loopback address 127.0.0.1: not fetched" in result.reason
    assert result.attempts == 0 and server.count() == 0


def test_name_resolving_to_loopback_is_refused(server: Loopback) -> None:
    server.route("/ok", Reply(200))
    result = check_one(server.url("/ok").replace("127.0.0.1", "localhost"), replace(FAST, allow_private=False))
    assert result.verdict is Verdict.BROKEN and "localhost resolves to loopback address" in result.reason
    assert server.count() == 0


def test_progress_bar_only_on_a_terminal(server: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    server.route("/ok", Reply(200))

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        check_links([target(server.url("/ok")), target(server.url("/missing"))], FAST, progress=True)
        assert ("links [" in stream.getvalue() and "2/2  1 need attention" in stream.getvalue()) is shown


def test_user_agent_names_the_project(server: Loopback) -> None:
    server.route("/ua", Reply(200))
    check_one(server.url("/ua"))
    seen = server.agents()
    from generator.net.policy import USER_AGENT

    assert seen and seen[0].startswith("sku-survey/") and "https://github.com/sku-survey/sku-survey" in seen[0]
    assert seen[0] == USER_AGENT  # the one User-Agent (the sample fetcher's test checks it too)


# ---------------------------------------------------------------------------
# Content checks
# ---------------------------------------------------------------------------

PAGE_WITH_ANCHORS = b"""<!doctype html><html><head><title>RPC dataset</title></head>
<body><h1>RPC</h1><h2 id="download">Download</h2><a name="licence"></a><p>text</p></body></html>"""


def test_present_fragment_is_ok(server: Loopback) -> None:
    server.route("/doc", Reply(200, PAGE_WITH_ANCHORS))
    run = check_links([target(server.url("/doc#download")), target(server.url("/doc#licence"))], FAST)
    assert [r.verdict for r in run.results] == [Verdict.OK, Verdict.OK]
    assert server.count("/doc", "GET") == 2 and server.count("/doc", "HEAD") == 0


def test_missing_fragment_is_broken(server: Loopback) -> None:
    server.route("/doc", Reply(200, PAGE_WITH_ANCHORS))
    result = check_one(server.url("/doc#results"), role="download")
    assert result.verdict is Verdict.BROKEN and result.reason == "anchor #results not found"
    assert server.count("/doc") == 1


def test_github_style_anchor_prefix_counts_as_present(server: Loopback) -> None:
    server.route("/readme", Reply(200, b'<h2><a id="user-content-usage" href="#usage"></a>Usage</h2>'))
    assert check_one(server.url("/readme#usage")).verdict is Verdict.OK


def test_soft_404_page_is_broken_with_the_title_quoted(server: Loopback) -> None:
    server.route("/soft", Reply(200, b"<html><head><title>Page not found | Lab</title></head><h1>Sorry</h1></html>"))
    result = check_one(server.url("/soft"))
    assert result.verdict is Verdict.BROKEN
    assert result.reason == "soft 404 (suspected): title says 'Page not found | Lab'"
    assert server.count("/soft") == 1


def test_soft_404_in_chinese_heading_is_broken(server: Loopback) -> None:
    body = "<html><head><title>实验室</title></head><body><h1>页面不存在</h1></body></html>".encode()
    server.route("/zh", Reply(200, body))
    result = check_one(server.url("/zh"))
    assert result.verdict is Verdict.BROKEN and "main heading says '页面不存在'" in result.reason


def test_bot_challenge_is_blocked_not_retried(server: Loopback) -> None:
    server.route("/cf", Reply(503, b"<title>Just a moment...</title>", {"cf-mitigated": "challenge"}))
    result = check_one(server.url("/cf"))
    assert result.verdict is Verdict.BLOCKED and server.count("/cf") == 1


def test_declared_403_is_expected_and_not_failing(server: Loopback) -> None:
    server.route("/walled", Reply(403))
    result = check_one(server.url("/walled"), role="download", expect=frozenset({403}))
    assert result.verdict is Verdict.BLOCKED and result.expected and not result.fails_run
    assert result.reason == "answered 403 Forbidden, as the data declares"
    assert server.count("/walled", "HEAD") == 1 and server.count("/walled", "GET") == 1


def test_undeclared_403_is_blocked_but_not_failing(server: Loopback) -> None:
    server.route("/walled", Reply(403))
    result = check_one(server.url("/walled"))
    assert result.verdict is Verdict.BLOCKED and not result.expected and not result.fails_run


def test_offline_checks_nothing(server: Loopback) -> None:
    run = check_links([target(server.url("/ok")), target(server.url("/b"))], replace(FAST, offline=True))
    assert {r.verdict for r in run.results} == {Verdict.SKIPPED}
    assert not run.failed() and run.offline and server.count() == 0


def test_results_are_sorted_by_url(server: Loopback) -> None:
    server.route("/x", Reply(200))
    urls = [server.url(f"/x?n={i}") for i in (3, 1, 2)]
    run = check_links([target(u) for u in urls], FAST)
    assert [r.url for r in run.results] == sorted(urls)


# ---------------------------------------------------------------------------
# Cache and grace
# ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_success_is_reused_within_ttl_and_rechecked_after(server: Loopback, tmp_path: Path) -> None:
    server.route("/ok", Reply(200))
    clock = Clock()
    config = replace(FAST, cache_ttl=timedelta(days=1))
    cache = LinkCache(now=clock)
    check_links([target(server.url("/ok"))], config, cache)
    cache.save(tmp_path / "links.json")

    clock.now += timedelta(hours=23)
    cache = LinkCache.load(tmp_path / "links.json", now=clock)
    (again,) = check_links([target(server.url("/ok"))], config, cache).results
    assert again.from_cache and again.verdict is Verdict.OK and again.attempts == 0
    assert server.count("/ok") == 1

    clock.now += timedelta(hours=2)
    (later,) = check_links([target(server.url("/ok"))], config, cache).results
    assert not later.from_cache and server.count("/ok") == 2


def test_failure_is_always_rechecked(server: Loopback) -> None:
    cache = LinkCache(now=Clock())
    for _ in range(2):
        (result,) = check_links([target(server.url("/missing"))], FAST, cache).results
    assert not result.from_cache and server.count("/missing") == 2
    assert result.consecutive_failures == 2


def test_a_link_that_worked_before_fails_the_run_only_after_grace(server: Loopback, tmp_path: Path) -> None:
    clock = Clock()
    config = replace(FAST, grace_runs=2)
    path = tmp_path / "cache" / "links.json"
    server.route("/flaky", [Reply(200), Reply(404)])
    verdicts = []
    for _ in range(3):
        cache = LinkCache.load(path, now=clock)
        run = check_links([target(server.url("/flaky"))], config, cache)
        cache.save(path)
        verdicts.append((run.results[0].verdict, run.results[0].consecutive_failures, run.failed()))
        clock.now += timedelta(days=4)  # past the cache's time to live: asked again
    assert verdicts == [(Verdict.OK, 0, False), (Verdict.BROKEN, 1, False), (Verdict.BROKEN, 2, True)]
    entry = json.loads(path.read_text())["links"][server.url("/flaky")]
    assert entry["first_failure"] == "2026-01-05T00:00:00+00:00"
    assert entry["last_success"] == "2026-01-01T00:00:00+00:00" and entry["consecutive_failures"] == 2


def test_a_new_broken_link_fails_the_run_at_once_even_with_a_history(server: Loopback, tmp_path: Path) -> None:
    # a pull request's new link on a fresh CI runner: no grace for what never worked
    cache = LinkCache(now=Clock())
    run = check_links([target(server.url("/missing"))], replace(FAST, grace_runs=3), cache)
    assert run.results[0].verdict is Verdict.BROKEN and run.results[0].fails_run and run.failed()


def test_success_resets_the_failure_count(server: Loopback) -> None:
    server.route("/back", [Reply(404), Reply(200)])

    cache = LinkCache(now=Clock())
    check_links([target(server.url("/back"))], FAST, cache)
    (result,) = check_links([target(server.url("/back"))], FAST, cache).results
    assert result.verdict is Verdict.OK and result.consecutive_failures == 0
    assert cache.entry(server.url("/back"))["first_failure"] is None  # type: ignore[index]


def test_without_cache_a_broken_link_fails_at_once(server: Loopback) -> None:
    run = check_links([target(server.url("/missing"))], replace(FAST, grace_runs=3))
    assert run.failed()


def test_corrupt_cache_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "links.json"
    for text in ("{not json", '{"version": 1, "links": {"https://a.example/": {"last_verdict": "ok"', "[1, 2]",
                 '{"version": 0, "links": {}}', '{"version": 1, "links": {"https://a.example/": {"last_verdict": 5, "last_checked": "x"}}}'):
        path.write_text(text)
        cache, warning = LinkCache.read(path)
        assert warning is not None and str(path) in warning and "discarded" in warning
        assert cache.entry("https://a.example/") is None


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------

SRC_A = LinkSource("data/datasets.yaml", 57, 7, "download", "sku110k")
SRC_B = LinkSource("site_src/en/index.md", 3, 12, "page", None)


def sample_run() -> LinkRun:
    return LinkRun(
        (
            LinkResult("https://a.example/ok", Verdict.OK, 200, "https://a.example/ok", 1, 0.1, "200 OK", (SRC_B,)),
            LinkResult("https://b.example/gone", Verdict.BROKEN, 404, "https://b.example/gone", 1, 0.2,
                       "answered 404 Not Found", (SRC_A, SRC_B), consecutive_failures=2, fails_run=True),
            LinkResult("https://c.example/login", Verdict.BLOCKED, 403, "https://c.example/login", 2, 0.3,
                       "answered 403 Forbidden, as the data declares", (SRC_A,), expected=True),
            LinkResult("https://d.example/slow", Verdict.TRANSIENT, None, None, 3, 9.0,
                       "no answer within 20 s", (SRC_A,)),
        )
    )


def test_text_report_has_summary_and_one_line_per_position() -> None:
    text = format_report(sample_run(), "text")
    assert text.splitlines() == [
        "4 links: 1 ok, 0 redirected, 1 broken, 1 blocked, 1 transient, 0 skipped; "
        "1 answered as the data declares; 1 fails the run",
        "data/datasets.yaml:57:7: broken: https://b.example/gone (answered 404 Not Found)",
        "data/datasets.yaml:57:7: transient: https://d.example/slow (no answer within 20 s)",
        "site_src/en/index.md:3:12: broken: https://b.example/gone (answered 404 Not Found)",
    ]


def test_json_report_round_trips_through_load_report(tmp_path: Path) -> None:
    text = format_report(sample_run(), "json")
    rows = json.loads(text)["links"]
    assert [r["url"] for r in rows] == [r.url for r in sample_run().results]
    required = {"url", "verdict", "http_status", "final_url", "attempts", "elapsed_s", "reason", "expected", "positions"}
    assert required <= set(rows[1])
    assert rows[1]["positions"][0] == {
        "file": "data/datasets.yaml", "line": 57, "column": 7, "role": "download", "dataset_id": "sku110k"
    }
    path = tmp_path / "report.json"
    path.write_text(text)
    loaded = load_report(path)
    assert loaded["https://b.example/gone"] == sample_run().results[1]
    assert load_report(tmp_path / "absent.json") == {}


def test_markdown_report_is_a_table_with_failures_first() -> None:
    lines = format_report(sample_run(), "markdown").splitlines()
    assert lines[0] == "## Link check"
    assert "| Verdict | Link | Where | Why |" in lines
    rows = [line for line in lines if line.startswith("| ") and not line.startswith(("| Verdict", "| ---"))]
    assert rows[0].startswith("| **broken** | https://b.example/gone | `data/datasets.yaml:57`<br>`site_src/en/index.md:3`")
    assert len(rows) == 2  # the declared 403 and the ok link are not listed


def test_github_report_annotates_every_position() -> None:
    lines = format_report(sample_run(), "github").splitlines()
    assert lines == [
        "::error file=data/datasets.yaml,line=57,col=7,title=broken link::https://b.example/gone: answered 404 Not Found",
        "::warning file=data/datasets.yaml,line=57,col=7,title=transient link::https://d.example/slow: no answer within 20 s",
        "::error file=site_src/en/index.md,line=3,col=12,title=broken link::https://b.example/gone: answered 404 Not Found",
    ]


def test_github_report_escapes_workflow_command_characters() -> None:
    src = LinkSource("a,b:c.md", 1, 1, "page")
    result = LinkResult("https://x.example/%41", Verdict.BROKEN, 404, None, 1, 0.0, "50% gone\nreally", (src,), fails_run=True)
    run = LinkRun((result,))
    assert format_report(run, "github") == (
        "::error file=a%2Cb%3Ac.md,line=1,col=1,title=broken link::https://x.example/%2541: 50%25 gone%0Areally\n"
    )


def test_offline_text_report_lists_nothing() -> None:
    result = LinkResult("https://a.example/", Verdict.SKIPPED, None, None, 0, 0.0, "offline: not checked", (SRC_B,))
    run = LinkRun((result,), offline=True)
    assert format_report(run, "text") == (
        "1 links: 0 ok, 0 redirected, 0 broken, 0 blocked, 0 transient, 1 skipped; offline, nothing was checked; 0 fail the run\n"
    )


# ---------------------------------------------------------------------------
# Where URLs come from
# ---------------------------------------------------------------------------


def test_url_file_keeps_line_positions_and_dedupes(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text("# catalogue extras\n\nhttps://a.example/x\n  https://b.example/y#frag\nhttps://a.example/x\n")
    targets = targets_from_url_file(path)
    assert [t.url for t in targets] == ["https://a.example/x", "https://b.example/y#frag"]
    assert [(s.line, s.column) for s in targets[0].sources] == [(3, 1), (5, 1)]
    assert (targets[1].sources[0].line, targets[1].sources[0].column) == (4, 3)


def test_url_file_reports_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text("https://ok.example/\nftp://nope\nnot a url\n")
    with pytest.raises(ProblemsFound) as caught:
        targets_from_url_file(path)
    assert [(p.line, p.column) for p in caught.value.problems] == [(2, 1), (3, 1)]


def test_markdown_links_with_positions(tmp_path: Path) -> None:
    page = tmp_path / "en" / "index.md"
    page.parent.mkdir()
    page.write_text(
        "# Survey\n"
        "See [the paper](https://arxiv.org/abs/1901.07249) and <https://example.org/a>.\n"
        "Bare https://example.com/x, then more; [Wiki](https://en.wikipedia.org/wiki/Foo_(bar)).\n"
        "[ref]: https://example.net/ref \"Title\"\n"
        "Code `https://code.example/` is not a link; <a href=\"https://h.example/?a=1&amp;b=2\">x</a>\n"
        "```\n"
        "https://fenced.example/\n"
        "```\n"
        "[https://text.example/](https://dest.example/) ./relative.md\n"
    )
    found = [(url, s.file, s.line, s.column, s.role) for url, s, _ in targets_from_markdown(tmp_path, [page])]
    assert found == [
        ("https://arxiv.org/abs/1901.07249", "en/index.md", 2, 17, "page"),
        ("https://example.org/a", "en/index.md", 2, 56, "page"),
        ("https://example.com/x", "en/index.md", 3, 6, "page"),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", "en/index.md", 3, 47, "page"),
        ("https://example.net/ref", "en/index.md", 4, 8, "page"),
        ("https://h.example/?a=1&b=2", "en/index.md", 5, 54, "page"),
        ("https://dest.example/", "en/index.md", 9, 25, "page"),
    ]


def test_dedupe_merges_positions_and_expectations() -> None:
    a = LinkSource("data/datasets.yaml", 9, 3, "download", "rpc")
    b = LinkSource("data/datasets.yaml", 2, 3, "homepage", "rpc")
    targets = dedupe_targets([("https://z.example/", a, frozenset({403})), ("https://a.example/", a, frozenset()),
                              ("https://z.example/", b, frozenset())])
    assert [t.url for t in targets] == ["https://a.example/", "https://z.example/"]
    assert targets[1].sources == (b, a) and targets[1].expect == frozenset({403})
