"""Preview cards (og:image) in each language, cached by a hash of what each one draws.

Input: the catalogue and its first thumbnails. Output: ``SocialCards``, the card files under
``.cache/social/`` (a card's name carries its key, so an unchanged card is never redrawn and
a changed one gets a new name). Failure: ``OSError`` when a card cannot be written.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from generator import images
from generator.filters import display_title, format_count
from generator.model import Catalog, Dataset, Lang
from generator.project import Project
from generator.strings import t

SOCIAL_URL_DIR = "assets/social"
# JPEG: the card is mostly a photo; as PNG it was 3.4x larger and 7x slower to encode
SOCIAL_CARD_SUFFIX = ".jpg"


@dataclass(frozen=True)
class SocialCards:
    """Preview images per language: one per dataset and one for every other page."""

    datasets: Mapping[tuple[str, Lang], Path]
    site: Mapping[Lang, Path]
    warnings: tuple[str, ...] = ()

    def for_language(self, lang: Lang) -> list[Path]:
        return sorted([*(p for (_, code), p in self.datasets.items() if code is lang), self.site[lang]])


def _card_figures(d: Dataset, lang: Lang) -> list[str]:
    figures = []
    for key, fig in (("images", d.stats.images), ("classes", d.stats.classes)):
        if fig.value is not None:
            form = f"card_{key}_one" if fig.value == 1 else f"card_{key}"
            figures.append(t(form, lang).format(n=format_count(fig.value, lang)))
    figures.append(f"{d.year} · {d.venue[lang]}"[:60])
    return figures


def _card_picture(thumb: images.Thumbnail) -> images.ImageFile:
    """The smallest JPEG variant that still fills the card's picture box: the largest took
    four times as long to decode and shrink, for the same card."""
    box_w, box_h = images.CARD_THUMB_BOX
    needed = min(box_w, box_h * thumb.width / thumb.height)  # the width the picture is drawn at
    return next((f for f in thumb.jpeg if f.width >= needed), thumb.jpeg[-1])


def make_social_cards(project: Project, catalog: Catalog, report: images.ImageReport, thumbs_dir: Path) -> SocialCards:
    """1200x630 previews in each language, cached by a hash of what is drawn.

    Both languages even in the live preview, which serves one: the pages' keys hold both
    cards of a dataset, and the next full build would render every page again otherwise."""
    out_dir = project.cache_dir / "social"
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = set(os.listdir(out_dir))  # listed once, not a stat per card
    # the drawing code and the font are part of the key: a change to how cards look redraws them
    font = images.cjk_font()
    drawer = images.card_drawer_key(font)
    no_font = f"no CJK font ({images.CARD_CJK_FONTS[0]}; Debian package fonts-noto-cjk): the Chinese preview cards show '?' for Chinese characters"
    warnings = () if font else (no_font,)

    todo: list[images.CardJob] = []

    def card(name: str, title: str, figures: list[str], thumb_path: Path | None, lang: Lang) -> Path:
        key = hashlib.sha256(repr((title, figures, thumb_path.name if thumb_path else None, drawer)).encode()).hexdigest()[:12]
        path = out_dir / f"{name}.{lang.value}.{key}{SOCIAL_CARD_SUFFIX}"
        if path.name not in drawn:
            todo.append(images.CardJob(title, tuple(figures), thumb_path, path, font))
        return path

    cards: dict[tuple[str, Lang], Path] = {}
    site: dict[Lang, Path] = {}
    for lang in Lang:
        for d in catalog.datasets:
            thumb = report.thumbnail(d.id, 0)
            thumb_path = thumbs_dir / _card_picture(thumb).name if thumb else None
            cards[(d.id, lang)] = card(d.id, display_title(d, lang), _card_figures(d, lang), thumb_path, lang)
        count = t("card_datasets", lang).format(n=len(catalog.datasets))
        site[lang] = card("site", t("site_name", lang), [count, t("site_description", lang)], None, lang)
    images.draw_social_cards(todo)
    return SocialCards(cards, site, warnings)
