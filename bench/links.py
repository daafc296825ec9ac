"""Benchmark of the link checker: wall time against the floor its politeness allows.

1,000 URLs over 20 local hosts (127.0.0.1 ... 127.0.0.20, one server each); every answer
is delayed 100 ms; the per-host limit is 4. Per host: 46 pages that answer 200, 2 that
answer 404 and 2 that answer 301 to a page that answers 200 -- so every verdict is known in
advance and any wrong one is counted.

The floor is the slowest host's serial time given the limit:
ceil(requests to that host / limit) x delay. The goal is a ratio under 1.3.

Then the same URLs go to LinkChecker (PyPI ``linkchecker``): the one on PATH, or one
installed into a temporary venv for this run, or a printed note when it cannot be had.
It has a per-host rate, not a concurrency limit, so it gets the same average rate as ours
(limit / delay requests per second per host), no recursion and no robots.txt. It pauses a
random 1-6 times 1/maxrequestspersecond between requests to a host, so
maxrequestspersecond is set to 3.5 x that rate; and the servers send the ``LinkChecker``
header without which it ignores the setting and pauses 0.1-0.6 s. It keeps its default 10
threads: it sleeps those pauses while holding a lock shared by all threads, so more threads
only make it slower (80 threads: about 3 minutes; 10: about 75 s).

Usage: python bench/links.py [--hosts 20] [--per-host 50] [--delay 0.1] [--limit 4]
                             [--no-linkchecker]
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import multiprocessing
import multiprocessing.connection
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.links import CheckerConfig, LinkSource, LinkTarget, Verdict, check_links  # noqa: E402

PAGE = b"<!doctype html><html><head><title>Dataset page</title></head><body><h1>Dataset</h1></body></html>"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (40 ms on Linux) and the bench would measure that instead of the checker.
    disable_nagle_algorithm = True
    server: BenchServer

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        srv = self.server
        with srv.lock:
            srv.requests += 1
            srv.active += 1
            srv.max_active = max(srv.max_active, srv.active)
        time.sleep(srv.delay)
        with srv.lock:
            srv.active -= 1
        path = self.path.split("?")[0]
        if path.startswith("/gone/"):
            self._send(404, b"<title>Not here</title>")
        elif path.startswith("/old/"):
            self._send(301, b"", {"Location": path.replace("/old/", "/new/")})
        else:
            self._send(200, PAGE)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        # LinkChecker waits 0.1-0.6 s between requests to a host unless the host answers
        # with this header; then it uses maxrequestspersecond. Give it its best case.
        self.send_header("LinkChecker", "welcome")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class BenchServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: str, delay: float) -> None:
        super().__init__((address, 0), _Handler)
        self.delay = delay
        self.lock = threading.Lock()
        self.requests = 0
        self.active = 0
        self.max_active = 0

    def reset(self) -> None:
        with self.lock:
            self.requests = self.active = self.max_active = 0

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client closing a keep-alive connection is not news


def serve(hosts: int, delay: float, conn: multiprocessing.connection.Connection) -> None:
    """The servers, in their own process so that they do not share the checker's GIL."""
    servers = [BenchServer(f"127.0.0.{h + 1}", delay) for h in range(hosts)]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    conn.send([srv.server_address[:2] for srv in servers])
    while (command := conn.recv()) != "stop":
        conn.send((sum(s.requests for s in servers), max(s.max_active for s in servers)))
        if command == "reset":
            for srv in servers:
                srv.reset()
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def plan(addresses: list[tuple[str, int]], per_host: int) -> tuple[dict[str, Verdict], dict[int, int]]:
    """Every URL with its right verdict, and how many requests each host must answer."""
    expected: dict[str, Verdict] = {}
    requests: dict[int, int] = {}
    for h, (host, port) in enumerate(addresses):
        base = f"http://{host}:{port}"
        requests[h] = 0
        for i in range(per_host):
            if i % 25 == 0:
                expected[f"{base}/gone/{i}"] = Verdict.BROKEN
                requests[h] += 1
            elif i % 25 == 1:
                expected[f"{base}/old/{i}"] = Verdict.REDIRECTED
                requests[h] += 2
            else:
                expected[f"{base}/page/{i}"] = Verdict.OK
                requests[h] += 1
    return expected, requests


def run_ours(expected: dict[str, Verdict], hosts: int, limit: int) -> tuple[float, float, int, Counter[str]]:
    """Wall time, CPU time, wrong verdicts and the verdict counts."""
    config = CheckerConfig(
        per_host_limit=limit,
        per_host_interval=0.0,
        host_overrides={},
        workers=hosts * limit,
        allow_private=True,
        connect_timeout=5.0,
        read_timeout=5.0,
    )
    targets = [LinkTarget(url, (LinkSource("bench", n + 1, 1, "page"),)) for n, url in enumerate(sorted(expected))]
    started = time.perf_counter()
    cpu = time.process_time()
    run = check_links(targets, config)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    wrong = sum(r.verdict is not expected[r.url] for r in run.results)
    return wall, cpu, wrong, Counter(str(r.verdict) for r in run.results)


def find_linkchecker(workdir: Path) -> tuple[str | None, str]:
    found = shutil.which("linkchecker")
    if found:
        return found, f"linkchecker on PATH ({found})"
    venv = workdir / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "linkchecker"], check=True, capture_output=True, timeout=600
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        return None, f"linkchecker could not be installed ({type(exc).__name__}); skipped"
    return str(venv / "bin" / "linkchecker"), "linkchecker installed into a temporary venv"


def run_linkchecker(
    binary: str, workdir: Path, expected: dict[str, Verdict], rate: float
) -> tuple[float, int, int, str]:
    """Wall time, wrong verdicts, URLs it did not report on, and its version line."""
    config = workdir / "linkcheckerrc"
    config.write_text(f"[checking]\nmaxrequestspersecond={rate:g}\nrecursionlevel=0\nrobotstxt=0\n")
    # It drops root privileges to "nobody", which must still read the config.
    config.chmod(0o644)
    workdir.chmod(0o755)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    started = time.perf_counter()
    done = subprocess.run(
        [binary, "-f", str(config), "--no-status", "--no-robots", "-r", "0", "-v", "-o", "csv", "--stdin"],
        input="\n".join(sorted(expected)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line and not line.startswith("#")]
    valid: dict[str, bool] = {}
    for row in csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";"):
        valid[row["urlname"]] = row["valid"] == "True"
    wrong = sum(1 for url, v in expected.items() if url in valid and valid[url] != (v is not Verdict.BROKEN))
    missing = sum(1 for url in expected if url not in valid)
    return wall, wrong, missing, version


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--per-host", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--no-linkchecker", action="store_true")
    args = parser.parse_args()

    conn, child_conn = multiprocessing.Pipe()
    child = multiprocessing.Process(target=serve, args=(args.hosts, args.delay, child_conn), daemon=True)
    child.start()
    try:
        expected, requests = plan(conn.recv(), args.per_host)
        floor = max(math.ceil(n / args.limit) for n in requests.values()) * args.delay
        print(
            f"{len(expected)} URLs over {args.hosts} hosts, {args.delay * 1000:g} ms per answer, "
            f"per-host limit {args.limit}, {sum(requests.values())} requests needed"
        )
        wall, cpu, wrong, counts = run_ours(expected, args.hosts, args.limit)
        conn.send("reset")
        answered, most = conn.recv()
        print(f"sku-survey links: {wall:.2f} s wall, floor {floor:.2f} s, ratio {wall / floor:.2f} (CPU {cpu:.2f} s)")
        print(f"  verdicts: {dict(sorted(counts.items()))}; wrong: {wrong}")
        print(f"  requests answered: {answered}; most in flight at one host: {most}")

        if args.no_linkchecker:
            print("linkchecker: not run (--no-linkchecker)")
            return 0
        with tempfile.TemporaryDirectory(prefix="bench-linkchecker-") as tmp:
            binary, note = find_linkchecker(Path(tmp))
            print(f"linkchecker: {note}")
            if binary is None:
                return 0
            rate = 3.5 * args.limit / args.delay  # its mean pause is 3.5 / rate
            lc_wall, lc_wrong, lc_missing, version = run_linkchecker(binary, Path(tmp), expected, rate)
            print(f"{version}: {lc_wall:.2f} s wall, ratio {lc_wall / floor:.2f} to the floor ({lc_wall / wall:.1f}x ours)")
            conn.send("reset")
            answered, most = conn.recv()
            print(
                f"  wrong (valid vs broken): {lc_wrong}; not reported: {lc_missing}; "
                f"requests answered: {answered}; most in flight at one host: {most}"
            )
    finally:
        conn.send("stop")
        child.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
