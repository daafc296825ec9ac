"""How the build scales: every stage of ``sku-survey build`` timed on synthetic catalogues.

For each size (10, 100, 1,000 and 3,000 datasets by default) a temporary project is made:
``site_src/`` and ``mkdocs.yml`` copied from this repository, and a ``data/datasets.yaml``
whose entries are clones of the real ones (new unique ids and names, varied figures, years,
added dates, tasks and scenes; texts in both languages at their real lengths), each with one
sample image given as ``path: samples/<id>.jpg``. The images are copies of the seed images
(``../shared/seed-images`` when that folder exists, otherwise a few synthetic Pillow photos).

Each size runs in its own Python process (so peak memory is per size) and runs the real
pipeline three times, reading the stage times it records (``StageTimes``, the figures
``sku-survey build --timings`` prints):

1. cold: ``build_site`` with empty caches: load, validate, thumbnails, social cards,
   render (+ write the staged docs), MkDocs zh and en (in parallel), swap in;
2. warm: ``build_site`` again with nothing changed, end to end (swap in replaces the site);
3. one-dataset edit: one dataset's description changed in both languages, then
   ``build_site`` again; it counts the staged files whose bytes or modification time changed
   and the thumbnails encoded.

Every total is a measured build, wall and CPU (the parallel MkDocs processes included).

Module imports and jieba's dictionary are loaded before timing (reported as "start-up").

Run: ``.venv/bin/python bench/build.py [--sizes 10,100,1000,3000] [--keep] [--json FILE]``;
prints figures only. The goals it reports on are ratios measured in one run, not timed tests.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator import site  # noqa: E402
from generator.load import load_document  # noqa: E402
from generator.model import Scene, Task  # noqa: E402
from generator.project import Project  # noqa: E402

SEED_IMAGES = REPO.parent / "shared" / "seed-images"
DEFAULT_SIZES = (10, 100, 1000, 3000)
RANDOM_SEED = 20251125
SYNTHETIC_PHOTO_SIZES = ((800, 600), (640, 480), (1200, 420), (420, 520))
FIRST_ADDED = dt.date(2024, 1, 1)
ADDED_SPAN_DAYS = 700
YEARS = (2008, 2025)

# Goals of issue 9
GOAL_SIZE = 1000
GOAL_BIG_SIZE = 3000
GOAL_GENERATOR_SHARE = 0.10
GOAL_LINEAR_RATIO = 1.2
GOAL_EDIT_SHARE = 0.05


# ------------------------------------------------------------------ synthetic project


def _seed_image_files(work: Path) -> list[Path]:
    found = sorted(p for p in SEED_IMAGES.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    if found:
        return found
    from PIL import Image, ImageDraw, ImageFilter

    out = []
    for n, (w, h) in enumerate(SYNTHETIC_PHOTO_SIZES):
        rnd = random.Random(n)
        im = Image.frombytes("RGB", (16, 12), rnd.randbytes(16 * 12 * 3)).resize((w, h), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(im)
        for _ in range(40):
            x, y, s = rnd.randrange(w), rnd.randrange(h), rnd.randrange(20, 200)
            draw.rectangle((x, y, x + s, y + s // 2), fill=tuple(rnd.randrange(256) for _ in range(3)))
        path = work / f"synthetic-{n}.jpg"
        im.filter(ImageFilter.SMOOTH).save(path, quality=90)
        out.append(path)
    return out


def _scaled(fig: dict[str, Any] | None, factor: float) -> None:
    if fig and isinstance(fig.get("value"), int):
        fig["value"] = max(1, round(fig["value"] * factor))


def _clone(real: dict[str, Any], n: int, rnd: random.Random) -> dict[str, Any]:
    d = copy.deepcopy(real)
    suffix = f"s{n:05d}"
    d["id"] = f"{real['id']}-{suffix}"
    d["name"] = f"{real['name']} {suffix.upper()}"
    d["full_name"] = {"zh": f"{real['full_name']['zh']}（合成 {n}）", "en": f"{real['full_name']['en']} (synthetic {n})"}
    d["summary"] = {"zh": f"{real['summary']['zh']}（第 {n} 号合成条目）", "en": f"{real['summary']['en']} (Synthetic entry {n}.)"}
    d["in_seed"] = False
    d["year"] = rnd.randint(*YEARS)
    d["added"] = (FIRST_ADDED + dt.timedelta(days=rnd.randrange(ADDED_SPAN_DAYS))).isoformat()
    d["tasks"] = rnd.sample([t.value for t in Task], rnd.randint(1, 3))
    d["scenes"] = rnd.sample([s.value for s in Scene], rnd.randint(1, 3))
    stats = d["stats"]
    # splits are scaled by the same whole factor as images, so exact splits still add up
    whole = rnd.choice((1, 2, 3, 5, 10))
    _scaled(stats.get("images"), whole)
    for fig in (stats.get("splits") or {}).values():
        _scaled(fig, whole)
    _scaled(stats.get("classes"), rnd.uniform(0.2, 5))
    _scaled(stats.get("instances"), rnd.uniform(0.2, 5))
    bib = (d.get("citation") or {}).get("bibtex")
    if bib:
        head, comma, rest = bib.partition(",")
        d["citation"]["bibtex"] = f"{head}_{suffix}{comma}{rest}"
    return d


def _sample(real: dict[str, Any], dataset_id: str) -> dict[str, Any]:
    first = (real.get("samples") or [None])[0]
    if first is None:
        return {
            "path": f"samples/{dataset_id}.jpg",
            "credit": {"zh": "合成的基准测试图像", "en": "Synthetic benchmark image"},
            "licence": "CC0-1.0",
            "caption": {"zh": "基准测试用的示例图像", "en": "A sample image for the benchmark"},
        }
    return {"path": f"samples/{dataset_id}.jpg", "credit": first["credit"], "licence": first["licence"], "caption": first["caption"]}


def make_project(size: int, root: Path) -> tuple[Project, dict[str, Any]]:
    """A project of ``size`` datasets under ``root``; returns it and the data written."""
    rnd = random.Random(RANDOM_SEED + size)
    shutil.copytree(REPO / "site_src", root / "site_src")
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    samples_dir = root / "data" / "samples"
    samples_dir.mkdir(parents=True)
    real = load_document(REPO / "data" / "datasets.yaml").data["datasets"]
    pictures = _seed_image_files(root)
    datasets = []
    for n in range(size):
        base = real[n % len(real)]
        d = copy.deepcopy(base) if n < len(real) else _clone(base, n, rnd)
        d["samples"] = [_sample(base, d["id"])]
        shutil.copyfile(pictures[n % len(pictures)], samples_dir / f"{d['id']}.jpg")
        datasets.append(d)
    data = {"datasets": datasets}
    _write_data(root, data)
    return Project(root), data


class _PlainDumper(yaml.SafeDumper):
    """Writes shared values out in full, as a contributor would, not as YAML anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _data_text(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False, width=120)


def _write_data(root: Path, data: dict[str, Any]) -> None:
    (root / "data" / "datasets.yaml").write_text(_data_text(data), encoding="utf-8")


# ------------------------------------------------------------------ one size


def _startup() -> None:
    """Import what the MkDocs stage imports and load jieba's dictionary (fixed cost, untimed in stages)."""
    import logging

    import jieba
    import material  # noqa: F401
    import mkdocs.commands.build
    import mkdocs.config  # noqa: F401

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()


def _mtimes(root: Path) -> dict[str, int]:
    """Modification times of the files in ``root``'s folders (for the stage: the docs folders
    MkDocs reads, not the build's own records beside them)."""
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.glob("*/**/*") if p.is_file()}


def _edit_one(project: Project, data: dict[str, Any]) -> str:
    d = data["datasets"][len(data["datasets"]) // 2]
    d["description"] = {
        "zh": d["description"]["zh"] + " 基准测试修改了这一句。",
        "en": d["description"]["en"] + " The benchmark edited this sentence.",
    }
    _write_data(project.root, data)
    return d["id"]


def _phase(times: site.StageTimes, phase: str, seconds: dict[str, float], cpu: dict[str, float]) -> None:
    for name in times.wall:
        seconds[f"{name} {phase}"] = times.wall[name]
        cpu[f"{name} {phase}"] = times.cpu[name]


def run_size(size: int, keep: bool) -> dict[str, Any]:
    """Cold build, rebuild with no change, rebuild after a one-dataset edit: the real pipeline each time."""
    root = Path(tempfile.mkdtemp(prefix=f"sku-bench-{size}-"))
    try:
        project, data = make_project(size, root)
        options = site.BuildOptions(site_dir=project.site_dir, offline=True)
        seconds: dict[str, float] = {}
        cpu: dict[str, float] = {}
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        _startup()
        seconds["start-up"] = cpu["start-up"] = time.perf_counter() - start

        def build(phase: str) -> site.BuildResult:
            wall, used = time.perf_counter(), site._cpu_seconds()
            result = site.build_site(project, options)
            seconds[f"total {phase}"] = time.perf_counter() - wall
            cpu[f"total {phase}"] = site._cpu_seconds() - used
            _phase(result.times, phase, seconds, cpu)
            return result

        cold = build("cold")
        built_files = sum(1 for p in project.site_dir.rglob("*") if p.is_file())
        warm = build("warm")

        stage_root = project.cache_dir / "stage"
        staged_before = _mtimes(stage_root)
        thumbs_before = _mtimes(project.cache_dir / "thumbs")
        edited = _edit_one(project, data)
        edit = build("edit")
        staged_after = _mtimes(stage_root)
        touched = sorted(k for k in staged_after if staged_before.get(k) != staged_after[k])
        thumbs_touched = sum(1 for k, v in _mtimes(project.cache_dir / "thumbs").items() if thumbs_before.get(k) != v)

        return {
            "size": size,
            "seconds": seconds,
            "cpu": cpu,
            "loadavg": (load_before, os.getloadavg()[0]),
            "cpus": os.cpu_count(),
            "pages_per_language": cold.pages,
            "site_files": built_files,
            "staged_files": len(staged_after),
            "image_warnings": len(cold.warnings),
            "cold_encoded": cold.thumbnails_encoded,
            "warm_changed": warm.files_written,
            "warm_encoded": warm.thumbnails_encoded,
            "edit_dataset": edited,
            "edit_changed": edit.files_written,
            "edit_touched": touched,
            "edit_encoded": edit.thumbnails_encoded,
            "edit_thumb_files_touched": thumbs_touched,
            "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "maxrss_children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "project": str(root) if keep else None,
        }
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------ report


GENERATOR_STAGES = ("load", "validate", "thumbnails", "social cards", "render")


def _derived(r: dict[str, Any], clock: str = "seconds") -> dict[str, float]:
    """Sums and ratios of one size; ``clock`` is "seconds" (wall) or "cpu". Totals are the
    measured builds, end to end (the two MkDocs builds overlap when they run in parallel)."""
    s = r[clock]
    gen = {phase: sum(s[f"{k} {phase}"] for k in GENERATOR_STAGES) for phase in ("cold", "warm", "edit")}
    own = s["load warm"] + s["validate warm"] + s["render warm"] + s["thumbnails warm"]
    return {
        "generator cold": gen["cold"],
        "generator warm": gen["warm"],
        "generator edit": gen["edit"],
        "total cold": s["total cold"],
        "total warm": s["total warm"],
        "total edit": s["total edit"],
        "own": own,
        "share": own / s["total warm"],
        "edit / cold": gen["edit"] / gen["cold"],
        "edit / cold w/o images": gen["edit"] / (s["load cold"] + s["validate cold"] + s["render cold"]),
    }


def _stage(name: str) -> Callable[[dict[str, Any], dict[str, float]], float]:
    return lambda r, d: r["seconds"][name]


ROWS: list[tuple[str, Callable[[dict[str, Any], dict[str, float]], float]]] = [
    ("start-up (imports, jieba dictionary)", _stage("start-up")),
    ("load (YAML -> document)", _stage("load cold")),
    ("validate (-> Catalog)", _stage("validate cold")),
    ("thumbnails, cold cache", _stage("thumbnails cold")),
    ("thumbnails, warm cache", _stage("thumbnails warm")),
    ("social cards, cold cache", _stage("social cards cold")),
    ("social cards, warm cache", _stage("social cards warm")),
    ("render + stage, empty stage", _stage("render cold")),
    ("render + stage, nothing changed", _stage("render warm")),
    ("MkDocs zh (in parallel with en)", _stage("mkdocs zh warm")),
    ("MkDocs en (in parallel with zh)", _stage("mkdocs en warm")),
    ("swap in, first build (no old site)", _stage("swap in cold")),
    ("swap in, rebuild (old site replaced)", _stage("swap in warm")),
    ("build, cold caches (measured)", lambda r, d: d["total cold"]),
    ("rebuild, nothing changed (measured)", lambda r, d: d["total warm"]),
    ("rebuild after a one-dataset edit (measured)", lambda r, d: d["total edit"]),
    ("generator share of warm total (%)", lambda r, d: 100 * d["share"]),
    ("  same, in CPU seconds (%)", lambda r, d: 100 * _derived(r, "cpu")["share"]),
    ("per dataset, total cold (ms)", lambda r, d: 1000 * d["total cold"] / r["size"]),
    ("per dataset, total warm (ms)", lambda r, d: 1000 * d["total warm"] / r["size"]),
    ("  same, in CPU ms", lambda r, d: 1000 * _derived(r, "cpu")["total warm"] / r["size"]),
    ("one-dataset edit: generator", lambda r, d: d["generator edit"]),
    ("  of which load", _stage("load edit")),
    ("  of which render + stage", _stage("render edit")),
    ("  generator, cold caches", lambda r, d: d["generator cold"]),
    ("  edit / cold generator (%)", lambda r, d: 100 * d["edit / cold"]),
    ("  edit / cold generator w/o images (%)", lambda r, d: 100 * d["edit / cold w/o images"]),
    ("  staged files rewritten", lambda r, d: r["edit_changed"]),
    ("  thumbnails re-encoded", lambda r, d: r["edit_encoded"]),
    ("pages per language", lambda r, d: r["pages_per_language"]),
    ("files in the built site", lambda r, d: r["site_files"]),
    ("peak RSS, build process (MiB)", lambda r, d: r["maxrss_mib"]),
    ("peak RSS, one image worker (MiB)", lambda r, d: r["maxrss_children_mib"]),
    ("load average before / after", lambda r, d: "{:.1f} / {:.1f}".format(*r["loadavg"])),
]


def _fmt(v: float | int | str) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.2f}" if v < 100 else f"{v:,.1f}"


def _goals(by_size: dict[int, dict[str, Any]], clock: str) -> list[str]:
    unit = "wall" if clock == "seconds" else "CPU"
    out = []
    if GOAL_SIZE in by_size:
        d = _derived(by_size[GOAL_SIZE], clock)
        verdict = "met" if d["share"] <= GOAL_GENERATOR_SHARE else "MISSED"
        out.append(f"goal 1 ({unit}): generator share at {GOAL_SIZE:,}: {100 * d['share']:.1f}% (goal ≤ {100 * GOAL_GENERATOR_SHARE:.0f}%): {verdict}")
    if GOAL_SIZE in by_size and GOAL_BIG_SIZE in by_size:
        small, big = by_size[GOAL_SIZE], by_size[GOAL_BIG_SIZE]
        ds, db = _derived(small, clock), _derived(big, clock)
        for kind in ("warm", "cold"):
            ratio = (db[f"total {kind}"] / big["size"]) / (ds[f"total {kind}"] / small["size"])
            verdict = "met" if ratio <= GOAL_LINEAR_RATIO else "MISSED"
            out.append(
                f"goal 2 ({unit}): per-dataset build time, {GOAL_BIG_SIZE:,} vs {GOAL_SIZE:,}, {kind} caches: "
                f"{ratio:.2f}x (goal ≤ {GOAL_LINEAR_RATIO}x): {verdict}"
            )
        parts = []
        for name in ("load cold", "validate cold", "render cold", "render warm", "thumbnails cold",
                     "thumbnails warm", "social cards cold", "mkdocs zh cold", "mkdocs en cold"):
            ratio = (big[clock][name] / big["size"]) / (small[clock][name] / small["size"])
            parts.append(f"{name} {ratio:.2f}x")
        out.append("        per stage: " + ", ".join(parts))
    if GOAL_SIZE in by_size:
        d = _derived(by_size[GOAL_SIZE], clock)
        verdict = "met" if d["edit / cold"] < GOAL_EDIT_SHARE else "MISSED"
        out.append(
            f"goal 3 ({unit}): one-dataset edit at {GOAL_SIZE:,}: {d['generator edit']:.2f} s = {100 * d['edit / cold']:.1f}% "
            f"of the cold generator's {d['generator cold']:.2f} s (goal < {100 * GOAL_EDIT_SHARE:.0f}%): {verdict}; "
            f"{100 * d['edit / cold w/o images']:.0f}% of the cold generator without the image stages"
        )
    return out


def print_report(results: list[dict[str, Any]]) -> None:
    derived = [_derived(r) for r in results]
    head = ["stage (wall seconds unless stated)"] + [f"{r['size']:,}" for r in results]
    body = [[name] + [_fmt(fn(r, d)) for r, d in zip(results, derived, strict=True)] for name, fn in ROWS]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]

    def show(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))) + " |"

    print(show(head))
    print("| " + " | ".join("-" * w if i == 0 else "-" * (w - 1) + ":" for i, w in enumerate(widths)) + " |")
    for row in body:
        print(show(row))
    print()

    for r in results:
        problems = []
        if r["warm_changed"]:
            problems.append(f"a rebuild with no change rewrote {r['warm_changed']} staged file(s)")
        if r["warm_encoded"] or r["edit_encoded"] or r["edit_thumb_files_touched"]:
            problems.append("a warm rebuild re-encoded thumbnails")
        if r["image_warnings"]:
            problems.append(f"{r['image_warnings']} image warning(s)")
        if len(r["edit_touched"]) != r["edit_changed"]:
            problems.append(f"{len(r['edit_touched'])} staged files got a new mtime but {r['edit_changed']} were counted as changed")
        note = "; ".join(problems) or "nothing else touched, no thumbnail re-encoded"
        print(f"{r['size']:>6,} datasets: the edit of {r['edit_dataset']} rewrote {', '.join(r['edit_touched'])} ({note})")
        if r.get("project"):
            print(f"        project kept in {r['project']}")
    print()

    by_size = {r["size"]: r for r in results}
    for clock in ("seconds", "cpu"):
        for line in _goals(by_size, clock):
            print(line)


# ------------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated catalogue sizes")
    p.add_argument("--keep", action="store_true", help="keep each temporary project and print where it is")
    p.add_argument("--json", metavar="FILE", help="also write the raw figures to FILE")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = p.parse_args(argv)

    if args.one is not None:
        print(json.dumps(run_size(args.one, args.keep)))
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = []
    for size in sizes:
        print(f"building {size:,} datasets ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--one", str(size)] + (["--keep"] if args.keep else [])
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            print(f"the {size:,}-dataset run failed (exit {done.returncode})", file=sys.stderr)
            return 1
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  {size:,}: {_derived(results[-1])['total cold']:.1f} s cold", file=sys.stderr, flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_report(results)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
