"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from loopback import Loopback
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
SEED_IMAGES = ROOT.parent / "shared" / "seed-images"


@pytest.fixture(scope="session")
def sample_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A --sample-mirror folder with an image for every sample URL of the real catalogue.

    The survey's real images (../shared/seed-images) when they are beside the project;
    otherwise synthetic photos under the same names, so thumbnails are exercised either way.
    """
    if SEED_IMAGES.is_dir():
        return SEED_IMAGES
    folder = tmp_path_factory.mktemp("mirror")
    data = yaml.safe_load((ROOT / "data" / "datasets.yaml").read_text(encoding="utf-8"))
    for i, dataset in enumerate(data["datasets"]):
        for sample in dataset.get("samples") or ():
            if sample.get("url"):
                im = Image.new("RGB", (640, 480), (40 + 20 * i % 200, 120, 160))
                ImageDraw.Draw(im).rectangle((100, 100, 540, 380), fill=(230, 200, 60))
                im.save(folder / sample["url"].rsplit("/", 1)[-1], "JPEG", quality=85)
    return folder


@pytest.fixture
def server() -> Iterator[Loopback]:
    """The scripted loopback server (tests/loopback.py), with no routes yet."""
    srv = Loopback()
    try:
        yield srv
    finally:
        srv.close()
