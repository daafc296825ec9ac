"""MkDocs vs Zensical: ``sku-survey build --engine mkdocs|zensical`` timed on one synthetic catalogue.

The catalogue is bench/build.py's (clones of the real entries, one sample each). A first build
fills the generator's caches (thumbnails, social cards, staged pages) and is not counted. Then,
for each run, in alternating order (the machine is shared: alternation spreads the load over
both engines):

- cold: the engine's own cache removed (Zensical's ``.cache/zensical``; MkDocs keeps none) and
  no previous site, then ``build_site``;
- warm: ``build_site`` again with nothing changed (the previous site is replaced).

Every figure is a measured ``build_site`` end to end (the generator's stages are warm and the
same for both engines), with the per-language engine stage, CPU seconds and the load average.
Medians are printed.

Run: ``.venv/bin/python bench/engines.py [--size 100] [--runs 3] [--json FILE]``; needs the
``zensical`` extra. Prints figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from build import make_project  # noqa: E402

from generator import site, zensical_engine  # noqa: E402

ENGINES = ("mkdocs", "zensical")


def one_build(project: Any, engine: str) -> dict[str, float]:
    options = site.BuildOptions(site_dir=project.site_dir, offline=True, engine=engine)
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), site._cpu_seconds()
    result = site.build_site(project, options)
    return {
        "total": time.perf_counter() - wall,
        "cpu": site._cpu_seconds() - cpu,
        "zh": result.times.wall[f"{engine} zh"],
        "en": result.times.wall[f"{engine} en"],
        "engine cpu": result.times.cpu[f"{engine} zh"] + result.times.cpu[f"{engine} en"],
        "load before": load,
        "load after": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=100, help="datasets in the synthetic catalogue")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    args = p.parse_args(argv)
    if not zensical_engine.available():
        print("zensical is not installed: pip install -e '.[zensical]'", file=sys.stderr)
        return 1

    root = Path(tempfile.mkdtemp(prefix=f"sku-engines-{args.size}-"))
    try:
        project, _ = make_project(args.size, root)
        one_build(project, "mkdocs")  # fills the generator's caches; imports MkDocs and jieba
        runs: dict[str, dict[str, list[dict[str, float]]]] = {e: {"cold": [], "warm": []} for e in ENGINES}
        for run in range(args.runs):
            for engine in ENGINES if run % 2 == 0 else tuple(reversed(ENGINES)):
                shutil.rmtree(project.cache_dir / zensical_engine.PROJECT_DIR, ignore_errors=True)
                shutil.rmtree(project.site_dir, ignore_errors=True)
                runs[engine]["cold"].append(one_build(project, engine))
                runs[engine]["warm"].append(one_build(project, engine))
                print(f"run {run + 1}/{args.runs} {engine}: cold {runs[engine]['cold'][-1]['total']:.1f} s, "
                      f"warm {runs[engine]['warm'][-1]['total']:.1f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(f"{args.size:,} datasets, {args.runs} runs each, medians (wall seconds unless stated); cpus {os.cpu_count()}")
    print("| build | engine | total | zh | en | CPU s | engine CPU s | load avg before / after |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for kind in ("cold", "warm"):
        for engine in ENGINES:
            rows = runs[engine][kind]
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            loads = ", ".join(f"{r['load before']:.1f}/{r['load after']:.1f}" for r in rows)
            print(f"| {kind} | {engine} | {med['total']:.2f} | {med['zh']:.2f} | {med['en']:.2f} | {med['cpu']:.2f} | {med['engine cpu']:.2f} | {loads} |")
    for kind in ("cold", "warm"):
        ratio = statistics.median(r["total"] for r in runs["zensical"][kind]) / statistics.median(r["total"] for r in runs["mkdocs"][kind])
        print(f"zensical / mkdocs, {kind}: {ratio:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
