"""Peak RSS of the thumbnails stage alone over N local samples (copies of the seed images).

Each sample is a seed image with 4 bytes appended after its end (distinct bytes, the same
picture), encoded at one 32 px width: the outputs are tiny, so what is measured is how the
stage holds its sources. Run it twice on one WORKDIR, each time in a new process: ``cold``
(everything encoded), then ``warm`` (nothing re-encoded). REPO is the checkout whose
``generator`` is measured, so two versions can be compared on the same files.

Run: ``.venv/bin/python bench/image_memory.py REPO WORKDIR N cold|warm``; prints one line.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

SEED_IMAGES = Path(__file__).resolve().parents[1].parent / "shared" / "seed-images"


def main() -> None:
    repo, work, n, phase = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    sys.path.insert(0, str(repo))
    from generator.images import ImageSettings, SampleSource, make_thumbnails

    seeds = sorted(SEED_IMAGES.glob("*.jpg"))
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    samples = []
    for i in range(n):
        path = data / f"s{i}.jpg"
        if not path.exists():
            path.write_bytes(seeds[i % len(seeds)].read_bytes() + i.to_bytes(4, "big"))
        samples.append(SampleSource(f"s{i}", 0, None, path, f"s{i}"))
    start = time.time()
    report = make_thumbnails(samples, work / "thumbs", work / "cache", ImageSettings(widths=(32,)))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{phase} N={n}: encoded {report.encoded}, reused {report.reused}, warnings {len(report.warnings)}; "
        f"peak RSS stage process {own:.0f} MiB, one worker {worker:.0f} MiB; "
        f"{time.time() - start:.1f} s wall; load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
