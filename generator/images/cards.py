"""The 1200x630 Open Graph preview card of a page, drawn per language.

A Chinese card is drawn with Debian's Noto Sans CJK (its Simplified Chinese face), so it says
its words in Chinese; without that font, Pillow's built-in one draws the card, with the
characters it lacks replaced. Same input, same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from generator.images.decode import to_srgb
from generator.images.encode import RESAMPLE, write_if_changed
from generator.images.pool import run_in_pool

CARD_SIZE = (1200, 630)
CARD_MARGIN = 64
CARD_GAP = 48
CARD_THUMB_BOX = (440, CARD_SIZE[1] - 2 * CARD_MARGIN)
CARD_TITLE_SIZES = (72, 60, 50, 42)  # tried in order until the title fits in three lines
CARD_TITLE_MAX_LINES = 3
CARD_FIGURE_SIZE = 36
CARD_MAX_FIGURES = 3
CARD_BACKGROUND = (255, 255, 255)
CARD_ACCENT = (0, 121, 107)  # the theme's teal
CARD_TITLE_COLOUR = (33, 33, 33)
CARD_FIGURE_COLOUR = (84, 84, 84)
CARD_BORDER_COLOUR = (224, 224, 224)
CARD_ACCENT_HEIGHT = 12
CARD_JPEG_QUALITY = 90
# Link previews are fetched whole by the sites that show them, so progressive buys nothing;
# baseline drew a card in 2/3 of the time (100 KiB against 92).
CARD_JPEG_PROGRESSIVE = False
# Pillow's built-in font covers little beyond ASCII; these stand in for common symbols it
# lacks, and accented letters lose their accents, rather than printing empty boxes.
CARD_GLYPH_FALLBACKS = {
    "≈": "~", "≥": ">=", "≤": "<=", "×": "x", "–": "-", "—": "-", "−": "-", "€": "EUR", "£": "GBP", "¥": "JPY",
}
CARD_UNKNOWN_GLYPH = "?"
# Debian's fonts-noto-cjk (./dev test installs it): Simplified Chinese glyphs and Latin, so
# the Chinese cards say their words in Chinese. The SC face is picked out of the collection.
CARD_CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)
CARD_CJK_FACE = "Noto Sans CJK SC"
# Fewer cards than this are drawn in this process: starting a pool costs more than they do
CARDS_PER_POOL = 8


# What a card looks like is decided by this module and by the colour conversion it borrows.
_DRAWING_CODE = (Path(__file__), Path(__file__).with_name("decode.py"))


def card_drawer_key(font: Path | None) -> str:
    """A short hash of the drawing code and the font: a change to how cards look redraws them."""
    material = b"".join(path.read_bytes() for path in _DRAWING_CODE) + str(font).encode()
    return hashlib.sha256(material).hexdigest()[:12]


def cjk_font() -> Path | None:
    """The CJK font file the cards use, or None when it is not installed."""
    return next((path for path in CARD_CJK_FONTS if path.is_file()), None)


@functools.cache
def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size)
    for index in range(16):  # a collection holds one face per region; take the SC one
        try:
            face = ImageFont.truetype(str(path), size, index=index)
        except OSError:
            break
        if face.getname()[0] == CARD_CJK_FACE:
            return face
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True)
class CardJob:
    """One card to draw (see make_social_card)."""

    title: str
    figures: tuple[str, ...]
    thumbnail: Path | None
    out_path: Path
    font: Path | None


def _draw(job: CardJob) -> bool:
    make_social_card(job.title, job.figures, job.thumbnail, job.out_path, font=job.font)
    return True


def draw_social_cards(jobs: Sequence[CardJob], workers: int | None = None) -> None:
    """Draw every card, over the CPU cores when there are many (a cold build draws two per
    dataset). Raises OSError as make_social_card does, or when a worker died."""
    drawn = run_in_pool(_draw, jobs, workers if len(jobs) >= CARDS_PER_POOL else 1)
    for job, ok in zip(jobs, drawn, strict=True):
        if not ok:
            raise OSError(f"the card drawing process died before {job.out_path.name} was written (out of memory?)")


def make_social_card(title: str, figures: Sequence[str], thumbnail: Path | None, out_path: Path, font: Path | None = None) -> None:
    """Draw the 1200x630 Open Graph card: the title large, up to three key figures, and the
    thumbnail on the right. ``font`` is a TrueType file (the CJK font for Chinese cards);
    without one, Pillow's built-in font, whose missing characters are replaced. PNG or JPEG
    by ``out_path``'s suffix; same input, same bytes.

    Raises OSError when the thumbnail cannot be read or the card cannot be written (both are
    our own files, so that is a bug or a full disk, not bad data)."""
    suffix = out_path.suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"a social card is a .png or .jpg file, got {out_path.name!r}")
    card = Image.new("RGB", CARD_SIZE, CARD_BACKGROUND)
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, CARD_SIZE[0], CARD_ACCENT_HEIGHT - 1), fill=CARD_ACCENT)

    text_right = CARD_SIZE[0] - CARD_MARGIN
    if thumbnail is not None:
        with Image.open(thumbnail) as source:
            upright = to_srgb(ImageOps.exif_transpose(source), CARD_BACKGROUND)
            picture = ImageOps.contain(upright, CARD_THUMB_BOX, RESAMPLE)
        left = CARD_SIZE[0] - CARD_MARGIN - picture.width
        top = (CARD_SIZE[1] - picture.height) // 2
        card.paste(picture, (left, top))
        draw.rectangle((left - 1, top - 1, left + picture.width, top + picture.height), outline=CARD_BORDER_COLOUR)
        text_right = left - CARD_GAP
    text_width = text_right - CARD_MARGIN

    drawable = (lambda text: text) if font is not None else _drawable
    title_font, lines = _fit_title(draw, drawable(title.strip()), text_width, font)
    figure_font = _font(font, CARD_FIGURE_SIZE)
    title_step = round(title_font.size * 1.2)
    figure_step = round(CARD_FIGURE_SIZE * 1.5)
    shown = [drawable(f.strip()) for f in figures if f.strip()][:CARD_MAX_FIGURES]
    block = len(lines) * title_step + (CARD_GAP + len(shown) * figure_step if shown else 0)
    y = max(CARD_MARGIN, (CARD_SIZE[1] - block) // 2)
    for line in lines:
        draw.text((CARD_MARGIN, y), line, font=title_font, fill=CARD_TITLE_COLOUR)
        y += title_step
    y += CARD_GAP
    for figure in shown:
        line = _ellipsize(draw, figure, figure_font, text_width)
        draw.text((CARD_MARGIN, y), line, font=figure_font, fill=CARD_FIGURE_COLOUR)
        y += figure_step

    buffer = io.BytesIO()
    if suffix == ".png":
        card.save(buffer, "PNG", optimize=True)
    else:
        card.save(buffer, "JPEG", quality=CARD_JPEG_QUALITY, optimize=True, progressive=CARD_JPEG_PROGRESSIVE)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out_path, buffer.getvalue())


def _fit_title(draw: ImageDraw.ImageDraw, title: str, width: int, font_path: Path | None = None) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest title size whose wrapped lines fit; the smallest size cut with an ellipsis."""
    for size in CARD_TITLE_SIZES:
        font = _font(font_path, size)
        lines = _wrap(draw, title, font, width)
        if len(lines) <= CARD_TITLE_MAX_LINES:
            return font, lines
    kept = lines[:CARD_TITLE_MAX_LINES]
    kept[-1] = _ellipsize(draw, kept[-1] + " …", font, width)
    return font, kept


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines that fit ``width``, broken at spaces; Chinese (no spaces) between any two characters."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        elif draw.textlength(word, font=font) > width and any(_is_cjk(ch) for ch in word):
            line = ""
            for ch in word:
                if line and draw.textlength(line + ch, font=font) > width:
                    lines.append(line)
                    line = ""
                line += ch
            lines.append(line)
        else:
            lines.append(_ellipsize(draw, word, font, width))
    return lines or [""]


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"


def _ellipsize(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _drawable(text: str) -> str:
    """The text with every character the built-in font lacks replaced by one it has."""
    out = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
        elif _has_glyph(ch):
            out.append(ch)
        elif ch in CARD_GLYPH_FALLBACKS:
            out.append(CARD_GLYPH_FALLBACKS[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and all(_has_glyph(c) for c in base) else CARD_UNKNOWN_GLYPH)
    return "".join(out)


@functools.cache
def _has_glyph(ch: str) -> bool:
    font = ImageFont.load_default(size=CARD_FIGURE_SIZE)
    return bytes(font.getmask(ch)) != bytes(font.getmask(_MISSING_GLYPH))


_MISSING_GLYPH = "\U0010fffd"  # a private-use code point no font draws
