"""Thumbnails per second: the images stage against a naive Pillow baseline.

Inputs: the seed images (``../shared/seed-images`` when that folder exists) and synthetic
4000x3000 camera-like JPEGs made in a temporary folder. Both sides make the same files:
every planned width (320/640/1280, never upscaled) as WebP and as JPEG with the
same quality settings, written to disk.

- naive: Image.open -> convert("RGB") -> resize each width from the full image (Lanczos) ->
  save, one image after another.
- pipeline: ``make_thumbnails`` into a fresh output and cache folder (nothing reused), with
  one worker process and with one per CPU core.

Quality: PSNR of the 1280 px outputs of both against a reference made without shortcuts
(full decode, Lanczos straight to the width, no compression). The rows "decode + resize"
time the same work without encoding, which is the part the pipeline's shortcuts touch.

Run: ``.venv/bin/python bench/thumbnails.py [--large N] [--repeat N]``; prints figures only.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import PIL
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat, features

from generator import images
from generator.images import ImageSettings, SampleSource, make_thumbnails, plan_widths

REPO = Path(__file__).resolve().parents[1]
SEED_IMAGES = REPO.parent / "shared" / "seed-images"
LARGE_SIZE = (4000, 3000)
LARGE_CAMERA_QUALITY = 90
PSNR_WIDTH = 1280
SETTINGS = ImageSettings()


def synthetic_photo(seed: int, path: Path) -> None:
    """A camera-sized JPEG with smooth areas, hard edges and sensor-like grain."""
    rnd = random.Random(seed)
    w, h = LARGE_SIZE
    base = Image.frombytes("RGB", (80, 60), rnd.randbytes(80 * 60 * 3)).resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(base)
    for _ in range(60):
        x, y, s = rnd.randrange(w), rnd.randrange(h), rnd.randrange(50, 600)
        colour = tuple(rnd.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + s, y + s * rnd.random()), fill=colour)
        draw.ellipse((y, x % h, y + s, x % h + s), outline=colour[::-1], width=rnd.randrange(1, 12))
    grain = Image.frombytes("L", (w, h), rnd.randbytes(w * h)).filter(ImageFilter.GaussianBlur(1))
    photo = Image.composite(base, Image.merge("RGB", [grain] * 3), Image.new("L", (w, h), 215))
    photo.save(path, quality=LARGE_CAMERA_QUALITY)


def naive(sources: Sequence[Path], out_dir: Path) -> None:
    for n, path in enumerate(sources):
        im = Image.open(path).convert("RGB")
        for width in plan_widths(im.width, SETTINGS.widths):
            small = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
            small.save(out_dir / f"{n}-{width}.webp", quality=SETTINGS.webp_quality, method=images.WEBP_METHOD)
            small.save(out_dir / f"{n}-{width}.jpg", quality=SETTINGS.jpeg_quality, optimize=True, progressive=images.JPEG_PROGRESSIVE)


def naive_decode_resize(sources: Sequence[Path]) -> None:
    for path in sources:
        im = Image.open(path).convert("RGB")
        for width in plan_widths(im.width, SETTINGS.widths):
            im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)


def pipeline_decode_resize(sources: Sequence[Path]) -> None:
    for path in sources:
        images.variants(path.read_bytes(), SETTINGS)


def pipeline(sources: Sequence[Path], out_dir: Path, workers: int) -> None:
    samples = [SampleSource(f"s{n}", 0, None, path, f"s{n}") for n, path in enumerate(sources)]
    report = make_thumbnails(samples, out_dir / "out", out_dir / "cache", SETTINGS, workers=workers)
    if report.warnings or report.encoded != len(sources):
        raise SystemExit(f"the pipeline did not encode every input: {report.warnings}")


def rate(sources: Sequence[Path], work: Callable[[Path], None], repeat: int) -> float:
    """Images per second, best of ``repeat`` runs, each into a fresh folder."""
    best = math.inf
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            work(Path(tmp))
            best = min(best, time.perf_counter() - start)
    return len(sources) / best


def psnr(a: Image.Image, b: Image.Image) -> float:
    squares = ImageStat.Stat(ImageChops.difference(a, b)).sum2
    mse = sum(squares) / (a.width * a.height * len(squares))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def quality(sources: Sequence[Path]) -> dict[str, float]:
    """Mean PSNR (dB) of each side's 1280 px outputs against the no-shortcut reference."""
    totals: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        naive_dir = Path(tmp) / "naive"
        naive_dir.mkdir()
        naive(sources, naive_dir)
        samples = [SampleSource(f"s{n}", 0, None, path, f"s{n}") for n, path in enumerate(sources)]
        report = make_thumbnails(samples, Path(tmp) / "out", Path(tmp) / "cache", SETTINGS, workers=1)
        for n, path in enumerate(sources):
            full = Image.open(path).convert("RGB")
            if full.width < PSNR_WIDTH:
                continue
            size = (PSNR_WIDTH, round(full.height * PSNR_WIDTH / full.width))
            reference = full.resize(size, Image.Resampling.LANCZOS)
            thumb = report.thumbnail(f"s{n}", 0)
            outputs = {
                "pipeline JPEG": Path(tmp) / "out" / thumb.jpeg[-1].name,
                "naive JPEG": naive_dir / f"{n}-{PSNR_WIDTH}.jpg",
                "pipeline WebP": Path(tmp) / "out" / thumb.webp[-1].name,
                "naive WebP": naive_dir / f"{n}-{PSNR_WIDTH}.webp",
            }
            for label, out in outputs.items():
                with Image.open(out) as im:
                    totals.setdefault(label, []).append(psnr(im.convert("RGB"), reference))
            shrunk = images.variants(path.read_bytes(), SETTINGS)[-1]
            totals.setdefault("pipeline before encoding", []).append(psnr(shrunk, reference))
    return {label: sum(v) / len(v) for label, v in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", type=int, default=6, help="synthetic 4000x3000 JPEGs (default 6)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept (default 3)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory() as tmp:
        large = [Path(tmp) / f"large-{i}.jpg" for i in range(args.large)]
        for i, path in enumerate(large):
            synthetic_photo(i, path)
        groups = [(f"{len(large)} large JPEGs {LARGE_SIZE[0]}x{LARGE_SIZE[1]}", large)]
        seeds = sorted(SEED_IMAGES.glob("*.jpg")) if SEED_IMAGES.is_dir() else []
        if seeds:
            groups.insert(0, (f"{len(seeds)} seed images (<=1236 px wide)", seeds))

        print(
            f"thumbnails: Pillow {PIL.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}, "
            f"libwebp {features.version('webp')}, {cores} CPU cores"
        )
        widths = "/".join(map(str, SETTINGS.widths))
        print(
            f"each image -> widths {widths} (never upscaled) x WebP q{SETTINGS.webp_quality} "
            f"(method {images.WEBP_METHOD}) + {'progressive' if images.JPEG_PROGRESSIVE else 'baseline'} JPEG q{SETTINGS.jpeg_quality}; best of {args.repeat}"
        )
        if not seeds:
            print(f"(no seed images: {SEED_IMAGES} is not there)")
        print()
        pooled_title = f"pipeline {cores} procs"
        header = f"{'inputs':<34}{'naive':>10}{'pipeline 1 proc':>18}{'ratio':>8}{pooled_title:>20}{'ratio':>8}"
        print(header)
        print("-" * len(header))
        for label, sources in groups:
            base = rate(sources, lambda d, s=sources: naive(s, d), args.repeat)
            one = rate(sources, lambda d, s=sources: pipeline(s, d, 1), args.repeat)
            pooled = rate(sources, lambda d, s=sources: pipeline(s, d, cores), args.repeat)
            print(f"{label:<34}{base:>8.2f}/s{one:>16.2f}/s{one / base:>7.2f}x{pooled:>18.2f}/s{pooled / base:>7.2f}x")
            base_dr = rate(sources, lambda _, s=sources: naive_decode_resize(s), args.repeat)
            ours_dr = rate(sources, lambda _, s=sources: pipeline_decode_resize(s), args.repeat)
            print(f"{'  decode + resize only':<34}{base_dr:>8.2f}/s{ours_dr:>16.2f}/s{ours_dr / base_dr:>7.2f}x")

        print()
        print(f"quality at {PSNR_WIDTH} px on the large JPEGs: PSNR against full decode + Lanczos, uncompressed")
        for label, value in quality(large).items():
            print(f"  {label:<28}{value:6.2f} dB")


if __name__ == "__main__":
    main()
