"""The run: every URL once, in parallel, politely; history and grace applied.

Worker threads share one transport (a connection pool per host, sized to the host's
limit) and one per-host gate. Before any request every distinct host is resolved once,
in parallel and without holding a host slot; a URL whose host does not resolve (or
resolves to a private address) is judged without waiting for the host's turn. When no
name resolves and no server answers, the machine has no network: the run says so once,
judges nothing and leaves the history alone.
"""

from __future__ import annotations

import queue
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from urllib.parse import urlsplit

from generator.links.collect import LinkTarget
from generator.links.config import CheckerConfig
from generator.links.history import LinkCache
from generator.links.ratelimit import HostGate, host_key
from generator.links.request import Checker
from generator.links.verdict import SUCCESS_VERDICTS, LinkResult, LinkRun, Verdict
from generator.net.guard import AddressGuard, GuardError, Resolve
from generator.net.transport import Transport
from generator.progress import ProgressBar


def _work(checker: Checker, gate: HostGate, out: queue.SimpleQueue[LinkResult]) -> None:
    while (job := gate.next_job()) is not None:
        host, target = job
        out.put(checker.check(target, held_host=host))


def _advance(bar: ProgressBar, problems: list[int], result: LinkResult) -> None:
    if result.verdict not in SUCCESS_VERDICTS and not result.expected:
        problems[0] += 1
    bar.advance(f"{problems[0]} need attention")


def _resolve_all(guard: AddressGuard, targets: Sequence[LinkTarget]) -> None:
    # every host at once, before any host slot is taken; failures are remembered too
    guard.prefetch(sorted({urlsplit(t.url).hostname or "" for t in targets} - {""}))


def _check_fresh(
    targets: Sequence[LinkTarget],
    config: CheckerConfig,
    progress: ProgressBar,
    guard: AddressGuard,
    sleep: Callable[[float], None],
) -> dict[str, LinkResult]:
    if not targets:
        return {}
    _resolve_all(guard, targets)
    gate = HostGate(config)
    hosts = {host_key(t.url) for t in targets}
    with Transport(
        guard,
        headers={"User-Agent": config.user_agent},
        pool_size=lambda host: config.policy_for(host.lower()).limit,
        hosts=len(hosts) + 16,
    ) as transport:
        out: queue.SimpleQueue[LinkResult] = queue.SimpleQueue()
        results: dict[str, LinkResult] = {}
        problems = [0]
        checker = Checker(transport, gate, config, sleep)
        for target in targets:
            try:
                transport.guard.vet(urlsplit(target.url).hostname or "")
            except GuardError:
                # no request will be sent: judged now, not after the host's turn
                result = checker.check(target, held_host=None)
                results[result.url] = result
                _advance(progress, problems, result)
                continue
            gate.enqueue(target)
        left = len(targets) - len(results)
        workers = min(config.workers, left)
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="linkcheck") as pool:
            futures = [pool.submit(_work, Checker(transport, gate, config, sleep), gate, out) for _ in range(workers)]
            try:
                while len(results) < len(targets):
                    try:
                        result = out.get(timeout=0.2)
                    except queue.Empty:
                        for future in futures:
                            if future.done():
                                future.result()  # a worker that crashed re-raises here
                        continue
                    results[result.url] = result
                    _advance(progress, problems, result)
            finally:
                gate.drop_pending()
                progress.close()
    return results


def _skipped(targets: Sequence[LinkTarget], reason: str, cache: LinkCache | None) -> tuple[LinkResult, ...]:
    return tuple(
        LinkResult(
            url=t.url,
            verdict=Verdict.SKIPPED,
            http_status=None,
            final_url=None,
            attempts=0,
            elapsed_s=0.0,
            reason=reason,
            sources=t.sources,
            consecutive_failures=cache.consecutive_failures(t.url) if cache else 0,
        )
        for t in targets
    )


def check_links(
    targets: Sequence[LinkTarget],
    config: CheckerConfig,
    cache: LinkCache | None = None,
    progress: bool = False,
    resolve: Resolve | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> LinkRun:
    """Check every target once (politely, in parallel); results sorted by URL.

    With a cache, fresh successes are reused and fresh results recorded. A broken link
    fails the run at once unless it worked in an earlier recorded run; then only after
    ``config.grace_runs`` broken runs in a row (a new or changed link gets no grace). The
    cache is updated in memory; saving it is the caller's. ``resolve`` replaces
    ``socket.getaddrinfo`` (to simulate a machine without DNS); ``sleep`` replaces
    ``time.sleep`` for the waits between tries (a test records them instead of timing them).
    """
    ordered = sorted(targets, key=lambda t: t.url)
    urls = [t.url for t in ordered]
    if len(set(urls)) != len(urls):
        raise ValueError("check_links needs one target per URL; merge them with dedupe_targets")
    if config.offline:
        return LinkRun(_skipped(ordered, "offline: not checked", cache), offline=True)
    reused: dict[str, LinkResult] = {}
    if cache is not None:
        for target in ordered:
            found = cache.reusable(target, config.cache_ttl)
            if found is not None:
                reused[target.url] = found
    guard = AddressGuard(
        config.allow_private, resolve or socket.getaddrinfo, timeout=config.lookup_timeout, allowed=config.allowed_addresses
    )
    bar = ProgressBar("links", len(ordered) - len(reused), enabled=progress)
    todo = [t for t in ordered if t.url not in reused]
    fresh = _check_fresh(todo, config, bar, guard, sleep)
    if todo and not guard.resolved_any() and all(r.network_failure for r in fresh.values()):
        return LinkRun(_skipped(ordered, "no network: not checked", cache), no_network=True)
    results: list[LinkResult] = []
    for target in ordered:
        if target.url in reused:
            results.append(reused[target.url])
            continue
        result = fresh[target.url]
        failing = result.verdict is Verdict.BROKEN and not result.expected
        if cache is not None:
            healthy_before = cache.was_healthy(result.url)
            consecutive = cache.record(result)
            fails = failing and (not healthy_before or consecutive >= config.grace_runs)
        else:
            consecutive = 1 if failing else 0
            fails = failing
        results.append(replace(result, consecutive_failures=consecutive, fails_run=fails))
    return LinkRun(tuple(results))
