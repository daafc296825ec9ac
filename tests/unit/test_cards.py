"""A preview card draws its picture from the smallest thumbnail that still fills its box."""

from __future__ import annotations

from generator import images
from generator.cards import _card_picture


def _thumb(widths: list[int], aspect: float) -> images.Thumbnail:
    files = tuple(images.ImageFile(f"d-0-{w}w.h.jpg", w, round(w / aspect), "jpeg") for w in widths)
    return images.Thumbnail("d", 0, files[-1].width, files[-1].height, webp=(), jpeg=files)


def test_the_smallest_variant_that_fills_the_box_is_drawn():
    box_w, box_h = images.CARD_THUMB_BOX
    wide = _thumb([320, 640, 1280], 1.5)  # drawn box_w wide
    assert _card_picture(wide).width == 640 and 320 < box_w <= 640
    tall = _thumb([320, 640, 1280], 1 / 3)  # drawn box_h / 3 wide: the smallest suffices
    assert _card_picture(tall).width == 320 and box_h / 3 <= 320
    small = _thumb([320, 419], 1.0)  # nothing as wide as the box: the largest there is
    assert _card_picture(small).width == 419
