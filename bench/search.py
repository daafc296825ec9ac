"""Search at scale: index bytes per language and keystroke-to-first-results in Chromium.

For each size (23, 1,000 and 3,000 datasets by default) ``bench/build.py``'s synthetic
catalogue is built with the real pipeline (samples left out: images do not reach the index),
served on 127.0.0.1 and opened in Debian's Chromium. It reports, per language:

- the bytes of ``search/search_index.json`` (total and per dataset), of the word list
  ``assets/search-words.json`` and of the pick-to-compare facts ``assets/compare-facts.json``;
- keystroke to first results, warm: the index is loaded; a query is put in the box and a
  keyup sent (what Material listens to), and the time until the first result is in the
  list is read with performance.now() in the page (median of the runs, and the worst);
- keystroke to first results, cold: the same on a page that has just loaded, typed as soon
  as the search box exists (includes fetching the index and lunr building it in the worker).

Run: ``.venv/bin/python bench/search.py [--sizes 23,1000,3000] [--runs 5] [--json FILE]``.
To compare two versions on a shared machine, build each with ``--keep --bytes-only`` (from
its own checkout), then time the kept projects in alternation in one run, so that both see
the same load: ``bench/search.py --measure ROOT_A,ROOT_B --rounds 3 --runs 3`` (medians over
the rounds; the load average is printed with every figure, as it moves them).
Prints figures only; the goals (first results within 150 ms at 3,000 datasets, index at most
1.5x today's bytes per dataset) are read off them. Today's bytes come from running this same
script on a copy of the base commit (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import build as build_bench  # noqa: E402  (bench/build.py: the synthetic catalogues)

from generator import site  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DEFAULT_SIZES = (23, 1000, 3000)
QUERIES = {"zh": ("货架", "自助结账", "RPC", "检测"), "en": ("shelf", "license", "货架", "detection")}
PREFIX = {"zh": "", "en": "en/"}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


MEASURE_JS = """async ([q, resendMs]) => {
  const box = document.querySelector('input.md-search__input');
  const list = document.querySelector('.md-search-result__list');
  const send = v => { box.value = v; box.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true})); };
  const until = (test, ms) => new Promise(resolve => {
    if (test()) return resolve(true);
    const o = new MutationObserver(() => { if (test()) { o.disconnect(); clearTimeout(timer); resolve(true); } });
    const timer = setTimeout(() => { o.disconnect(); resolve(false); }, ms);
    o.observe(list, {childList: true});
  });
  if (list.children.length) { send(''); await until(() => !list.children.length, 60000); }
  const t0 = performance.now();
  send(q);
  // cold: Material may not listen yet; a reader would type on, so keyups repeat until it answers
  const again = resendMs ? setInterval(() => send(q), resendMs) : null;
  const ok = await until(() => list.children.length > 0, 120000);
  if (again) clearInterval(again);
  return ok ? performance.now() - t0 : null;
}"""

READY_JS = """() => {
  const m = document.querySelector('.md-search-result__meta');
  return m && m.dataset.benchInitial !== undefined && m.textContent.trim() !== m.dataset.benchInitial;
}"""


def _bytes(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _terms_bytes(index_file: Path) -> int:
    """What the hook's tags (names, licence id, labels of both languages) add: the index's
    bytes minus the same index written without them."""
    if not index_file.is_file():
        return 0
    index = json.loads(index_file.read_text(encoding="utf-8"))
    for doc in index.get("docs", []):
        doc.pop("tags", None)
    return index_file.stat().st_size - len(json.dumps(index, separators=(",", ":"), default=str).encode("utf-8"))


def _entries(index_file: Path) -> int:
    return len(json.loads(index_file.read_text(encoding="utf-8"))["docs"]) if index_file.is_file() else 0


def measure_bytes(site_dir: Path, datasets: int) -> dict[str, Any]:
    out: dict[str, Any] = {"datasets": datasets}
    for lang in ("zh", "en"):
        root = site_dir / PREFIX[lang]
        index = _bytes(root / "search" / "search_index.json")
        out[lang] = {
            "index bytes": index,
            "index bytes per dataset": index / datasets,
            "index entries": _entries(root / "search" / "search_index.json"),
            "of which tags": _terms_bytes(root / "search" / "search_index.json"),
        }
    return out


def measure_site(site_dir: Path, datasets: int, runs: int, cold_runs: int | None = None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    out: dict[str, Any] = {"datasets": datasets}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            for lang in ("zh", "en"):
                root = site_dir / PREFIX[lang]
                index = _bytes(root / "search" / "search_index.json")
                figures: dict[str, Any] = {
                    "index bytes": index,
                    "index bytes per dataset": index / datasets,
                    "index entries": _entries(root / "search" / "search_index.json"),
                    "of which tags": _terms_bytes(root / "search" / "search_index.json"),
                    "word list bytes": _bytes(root / "assets" / "search-words.json"),
                    "facts bytes": _bytes(root / "assets" / "compare-facts.json"),
                }
                page = browser.new_page()
                warm: list[float] = []
                cold: list[float] = []
                for _ in range(runs if cold_runs is None else cold_runs):
                    # cold: type as soon as the box is there
                    page.goto(base + PREFIX[lang] + "compare/", wait_until="domcontentloaded")
                    cold.append(page.evaluate(MEASURE_JS, [QUERIES[lang][0], 50]))
                page.goto(base + PREFIX[lang] + "compare/")
                page.evaluate("() => { const m = document.querySelector('.md-search-result__meta'); m.dataset.benchInitial = m.textContent.trim(); }")
                page.wait_for_function(READY_JS, timeout=900_000)  # a loaded machine, a large index
                by_query: dict[str, list[float]] = {q: [] for q in QUERIES[lang]}
                for _ in range(runs):
                    for q in QUERIES[lang]:
                        warm.append(page.evaluate(MEASURE_JS, [q, 0]))
                        by_query[q].append(warm[-1])
                page.close()
                missed = [x for x in warm + cold if x is None]
                if missed:
                    raise RuntimeError(f"{lang}: {len(missed)} queries gave no result within two minutes")
                figures["warm first results ms (median)"] = statistics.median(warm)
                figures["warm first results ms (worst)"] = max(warm)
                if cold:
                    figures["cold first results ms (median)"] = statistics.median(cold)
                figures["warm samples"] = warm
                figures["warm samples by query"] = by_query
                figures["cold samples"] = cold
                figures["load average"] = os.getloadavg()[0]
                out[lang] = figures
            browser.close()
    finally:
        server.shutdown()
    return out


def run_size(size: int, runs: int, keep: bool, bytes_only: bool = False) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"sku-search-bench-{size}-"))
    try:
        project, data = build_bench.make_project(size, root)
        for d in data["datasets"]:
            d.pop("samples", None)  # images do not reach the index; skipping them saves minutes
        build_bench._write_data(root, data)
        build_bench._startup()
        print(f"{size} datasets: building", file=sys.stderr, flush=True)
        site.build_site(project, site.BuildOptions(site_dir=project.site_dir, offline=True))
        print(f"{size} datasets: measuring", file=sys.stderr, flush=True)
        if bytes_only:
            return measure_bytes(project.site_dir, size)
        return measure_site(project.site_dir, size, runs)
    finally:
        if keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def _datasets(root: Path) -> int:
    """How many datasets a kept project's site has: its dataset pages."""
    return sum(1 for p in (root / "site" / "datasets").iterdir() if (p / "index.html").is_file())


def measure_kept(roots: list[Path], rounds: int, runs: int, cold_runs: int | None = None) -> list[dict[str, Any]]:
    """Time kept projects in alternation (A B A B ...), so both meet the same load; each
    figure is the median (and worst) over every round's runs."""
    rounds_out: dict[Path, list[dict[str, Any]]] = {root: [] for root in roots}
    for n in range(rounds):
        for root in roots:
            print(f"round {n + 1}/{rounds}: {root}", file=sys.stderr, flush=True)
            rounds_out[root].append(measure_site(root / "site", _datasets(root), runs, cold_runs))
    results = []
    for root in roots:
        first = rounds_out[root][0]
        out: dict[str, Any] = {"datasets": first["datasets"], "label": root.name}
        for lang in ("zh", "en"):
            figures = {k: v for k, v in first[lang].items() if "ms" not in k and "samples" not in k and k != "load average"}
            warm = [x for r in rounds_out[root] for x in r[lang]["warm samples"]]
            cold = [x for r in rounds_out[root] for x in r[lang]["cold samples"]]
            loads = [r[lang]["load average"] for r in rounds_out[root]]
            figures["warm first results ms (median)"] = statistics.median(warm)
            figures["warm first results ms (worst)"] = max(warm)
            for q in first[lang]["warm samples by query"]:
                samples = [x for r in rounds_out[root] for x in r[lang]["warm samples by query"][q]]
                figures[f"warm ms, {q} (median / worst)"] = f"{statistics.median(samples):.0f} / {max(samples):.0f}"
            if cold:
                figures["cold first results ms (median)"] = statistics.median(cold)
            figures["load average (min-max)"] = f"{min(loads):.1f}-{max(loads):.1f}"
            out[lang] = figures
        results.append(out)
    return results


def print_report(results: list[dict[str, Any]]) -> None:
    sizes = [r.get("label") or f"{r['datasets']:,}" for r in results]
    rows = [
        "index bytes", "index bytes per dataset", "index entries", "of which tags", "word list bytes", "facts bytes",
        "warm first results ms (median)", "warm first results ms (worst)", "cold first results ms (median)",
        "load average", "load average (min-max)",
    ]
    print("| figure | " + " | ".join(sizes) + " |")
    print("| --- | " + " | ".join("---:" for _ in sizes) + " |")
    for lang in ("zh", "en"):
        for row in rows:
            if row not in results[0][lang]:
                continue
            values = [r[lang].get(row, "") for r in results]
            cells = [v if isinstance(v, str) else f"{v:,.0f}" if isinstance(v, int) or v >= 100 else f"{v:.1f}" for v in values]
            print(f"| {lang}: {row} | " + " | ".join(cells) + " |")
            if row == "warm first results ms (worst)":  # then each query's
                for key in (k for k in results[0][lang] if k.startswith("warm ms, ")):
                    print(f"| {lang}: {key} | " + " | ".join(str(r[lang].get(key, "")) for r in results) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--bytes-only", action="store_true", help="index sizes only, no browser (for the base commit)")
    parser.add_argument("--measure", help="comma-separated projects kept by --keep: time them in alternation, no build")
    parser.add_argument("--rounds", type=int, default=3, help="with --measure: rounds of alternation")
    parser.add_argument("--cold-runs", type=int, help="cold page loads per language (default: --runs; 0: warm only)")
    args = parser.parse_args(argv)
    if args.measure:
        results = measure_kept([Path(x) for x in args.measure.split(",")], args.rounds, args.runs, args.cold_runs)
    else:
        results = [run_size(int(s), args.runs, args.keep, args.bytes_only) for s in args.sizes.split(",")]
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
