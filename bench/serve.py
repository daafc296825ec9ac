"""The live preview at scale: from saving a one-dataset edit to seeing it in the browser.

For each size (100 and 1,000 datasets by default) ``bench/build.py``'s synthetic catalogue is
made in a temporary folder, ``sku-survey serve --offline --lang en`` is started on it (what a
contributor runs), and Debian's Chromium opens the dataset page that will be edited. Then,
``--runs`` times: one sentence is appended to that dataset's English description in
``data/datasets.yaml``, and the time from the write to the new sentence being on the page in
the browser (MkDocs' livereload reloads it) is measured with ``time.perf_counter``. It also
reports how long the preview took to start (first stage and full build), and the preview's own
log lines for the edits.

Run: ``.venv/bin/python bench/serve.py [--sizes 100,1000] [--runs 5]``. Prints figures only; the
goal (issue 18: a one-dataset edit visible within 2 s at 1,000 datasets) is read off them.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import build as build_bench  # noqa: E402  (bench/build.py: the synthetic catalogues)

CHROMIUM = "/usr/bin/chromium"
DEFAULT_SIZES = (100, 1000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def measure(size: int, runs: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix=f"serve-bench-{size}-") as tmp:
        root = Path(tmp)
        project, data = build_bench.make_project(size, root)
        target = data["datasets"][len(data["datasets"]) // 2]
        port = _free_port()
        log_file = root / "serve.log"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        started = time.perf_counter()
        with log_file.open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "generator", "--root", str(root), "serve", "--offline", "--lang", "en", "--dev-addr", f"127.0.0.1:{port}"],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )
            url = f"http://127.0.0.1:{port}/en/datasets/{target['id']}/"
            try:
                while not _up(url):
                    if proc.poll() is not None:
                        raise RuntimeError(f"the preview stopped: {log_file.read_text()[-2000:]}")
                    time.sleep(0.2)
                startup = time.perf_counter() - started
                times: list[float] = []
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
                    page = browser.new_page()
                    page.goto(url)
                    time.sleep(2)  # let livereload's long poll settle
                    for n in range(runs):
                        mark = f"Preview benchmark edit {n}."
                        target["description"]["en"] = target["description"]["en"] + " " + mark
                        # the file's text first (PyYAML takes 6 s to write 1,000 datasets): the
                        # clock starts when the editor would save it
                        text = build_bench._data_text(data)
                        t0 = time.perf_counter()
                        (root / "data" / "datasets.yaml").write_text(text, encoding="utf-8")
                        page.wait_for_function(
                            "m => document.body && document.body.innerText.includes(m)", arg=mark, timeout=120_000, polling=20
                        )
                        times.append(time.perf_counter() - t0)
                        time.sleep(1.5)  # the next edit after the preview is idle again
                    browser.close()
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        rebuilt = [line.strip() for line in log_file.read_text().splitlines() if line.startswith("rebuilt:")]
    return {"size": size, "startup": startup, "times": times, "rebuilt": rebuilt}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    load_before = os.getloadavg()[0]
    results = [measure(int(s), args.runs) for s in args.sizes.split(",") if s.strip()]
    load_after = os.getloadavg()[0]
    print(f"sku-survey serve: edit saved -> new text on the page in Chromium ({os.cpu_count()} cores, load average {load_before:.1f} / {load_after:.1f})")
    print(f"{'datasets':>9} {'start-up s':>11} {'edit median s':>14} {'best s':>7} {'worst s':>8}  runs")
    for r in results:
        t = r["times"]
        print(f"{r['size']:>9,} {r['startup']:>11.1f} {statistics.median(t):>14.2f} {min(t):>7.2f} {max(t):>8.2f}  {', '.join(f'{x:.2f}' for x in t)}")
    for r in results:
        print(f"{r['size']:,}: " + "; ".join(sorted(set(r["rebuilt"]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
