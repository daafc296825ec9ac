"""Bytes -> an upright sRGB picture, or a one-line reason it is not one.

The format is known by decoding, never by the file name or Content-Type, and only from a
closed list of formats. Images over ``max_pixels`` are refused before a pixel is decoded
(decompression bombs). EXIF orientation is applied; palette, grey, 16-bit, CMYK and alpha
sources become sRGB RGB (an embedded ICC profile is honoured) with transparency flattened
onto the page background; truncated or corrupt files give a one-line message.
"""

from __future__ import annotations

import functools
import io
import math
import struct
from collections.abc import Sequence
from pathlib import Path

from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from generator.images.values import ImageSettings, SampleError

# Formats Pillow may try. A closed list: EPS would run Ghostscript, and rare formats widen
# the attack surface for files fetched from the internet. (Camera MPO files open as JPEG.)
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "AVIF")
JPEG_FORMATS = frozenset({"JPEG", "MPO"})
HTML_PREFIXES = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")
SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
# Errors Pillow raises for files it recognised but cannot decode (truncated data, broken
# chunks, bad tables, malformed EXIF).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)
SNIFF_BYTES = 512  # enough of a file's start to tell an HTML page from an image


def open_image(source: bytes | Path, settings: ImageSettings, content_type: str | None = None) -> Image.Image:
    """Open (header only) and refuse bombs before a single pixel is decoded."""
    try:
        im = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source, formats=_accepted_formats())
    except UnidentifiedImageError:
        raise SampleError(_unidentified(_head(source), content_type)) from None
    except Image.DecompressionBombError as e:
        raise SampleError(f"refused as a possible decompression bomb: {e}") from None
    width, height = im.size
    if width * height > settings.max_pixels:
        im.close()
        raise SampleError(
            f"refused as a possible decompression bomb: {width}×{height} = {width * height:,} pixels "
            f"is more than the limit of {settings.max_pixels:,}"
        )
    return im


def _head(source: bytes | Path) -> bytes:
    if isinstance(source, bytes):
        return source[:SNIFF_BYTES]
    with source.open("rb") as f:
        return f.read(SNIFF_BYTES)


def _accepted_formats() -> tuple[str, ...]:
    Image.init()
    return tuple(f for f in ACCEPTED_FORMATS if f in Image.OPEN)  # AVIF is optional in Pillow builds


def not_an_image(path: Path, content_type: str, settings: ImageSettings) -> str | None:
    """Why a downloaded file is not a usable image, or None; checked before it is cached.

    Reads the file from disk as it goes: a download is never held in memory whole."""
    try:
        with open_image(path, settings, content_type) as im:
            im.verify()
    except SampleError as e:
        return str(e)
    except DECODE_ERRORS as e:
        return f"the image file is truncated or corrupt ({e})"
    return None


def _unidentified(head: bytes, content_type: str | None) -> str:
    said = f" (the server said Content-Type: {content_type})" if content_type else ""
    start = head.lstrip().lower()
    if start.startswith(HTML_PREFIXES) or b"<html" in start:
        return f"got an HTML page, not an image{said}"
    if not head:
        return f"got an empty file, not an image{said}"
    return f"is not an image in a supported format ({', '.join(ACCEPTED_FORMATS)}){said}"


def plan_widths(source_width: int, widths: Sequence[int]) -> list[int]:
    """Output widths for a source: never upscaled, and never nothing.

    A source narrower than the largest planned width is also kept at its own width: without
    it a 419 px source would top out at 320 px and be stretched to the page's 640 px.
    """
    fitting = {w for w in widths if 0 < w <= source_width}
    if source_width < max((w for w in widths if w > 0), default=0):
        fitting.add(source_width)
    return sorted(fitting) or [source_width]


def _displayed_size(im: Image.Image) -> tuple[int, int]:
    orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
    width, height = im.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def to_srgb(im: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Any mode -> RGB in sRGB, transparency flattened onto the background."""
    if im.mode in SIXTEEN_BIT_MODES:
        # convert("L") would clip every value above 255 to white instead of scaling
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif im.mode == "F":
        im = im.point(lambda v: v * 255).convert("L")  # float images are 0.0-1.0 by convention
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode in ("P", "PA"):
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    elif im.mode in ("L", "RGB") and "transparency" in im.info:
        im = im.convert("RGBA")
    elif im.mode in ("La", "RGBa"):
        im = im.convert(im.mode[:-1] + "A")

    alpha = None
    if im.mode in ("LA", "RGBA"):
        alpha = im.getchannel("A")
        im = im.convert(im.mode[:-1])
        if alpha.getextrema() == (255, 255):
            alpha = None

    icc = im.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            im = ImageCms.profileToProfile(im, source, _srgb_profile(), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken or mismatched profile should not cost the reader the picture
    if im.mode != "RGB":
        try:
            im = im.convert("RGB")
        except ValueError:
            raise SampleError(f"has an unsupported colour mode ({im.mode})") from None
    if alpha is not None:
        flat = Image.new("RGB", im.size, background)
        flat.paste(im, mask=alpha)
        im = flat
    return im


@functools.cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def decode(data: bytes, settings: ImageSettings) -> tuple[Image.Image, tuple[int, int], list[int]]:
    """The upright sRGB image (possibly already shrunk by the JPEG decoder), the source's
    upright size, and the widths to make."""
    im = open_image(data, settings)
    display_w, display_h = _displayed_size(im)
    widths = plan_widths(display_w, settings.widths)
    if im.format in JPEG_FORMATS:
        # libjpeg scales by 1/2, 1/4 or 1/8 in the DCT: far less to decode and to resize,
        # and draft() never goes below the size asked for.
        scale = widths[-1] / display_w
        stored_w, stored_h = im.size
        im.draft(im.mode, (math.ceil(stored_w * scale), math.ceil(stored_h * scale)))
    im.load()
    ImageOps.exif_transpose(im, in_place=True)
    im = to_srgb(im, settings.background)
    im.info = {}  # no EXIF, ICC or comments in the outputs: they are sRGB and upright
    return im, (display_w, display_h), widths
