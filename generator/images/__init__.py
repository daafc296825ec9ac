"""Sample images -> thumbnails, and the pages' preview cards.

``make_thumbnails`` is the one entry the build calls (``stage``); the modules, in the order
the data flows through them:

``values``    the typed values they hand each other (``SampleRef`` names a sample)
``fetch``     sources -> files on disk: mirror, data folder, download cache or the network
``store``     the download cache: bodies streamed to files named by their hash
``decode``    bytes -> an upright sRGB picture, bombs and non-images refused
``encode``    picture -> WebP + JPEG at each width (never upscaled), in a process pool
``manifest``  which outputs came from which bytes, so a warm build encodes nothing
``cards``     the 1200x630 Open Graph card of a page, per language (CJK font for Chinese)
``pool``      the process pool both encoding and drawing run in
"""

from generator.images.cards import CARD_CJK_FONTS, CARD_THUMB_BOX, CardJob, card_drawer_key, cjk_font, draw_social_cards, make_social_card
from generator.images.decode import plan_widths
from generator.images.encode import JPEG_PROGRESSIVE, WEBP_METHOD, variants
from generator.images.stage import make_thumbnails, sample_sources
from generator.images.values import (
    ImageFile,
    ImageReport,
    ImageSettings,
    ImageWarning,
    SamplePosition,
    SampleRef,
    SampleSource,
    Thumbnail,
)

__all__ = [
    "CARD_CJK_FONTS",
    "CARD_THUMB_BOX",
    "CardJob",
    "JPEG_PROGRESSIVE",
    "WEBP_METHOD",
    "ImageFile",
    "ImageReport",
    "ImageSettings",
    "ImageWarning",
    "SamplePosition",
    "SampleRef",
    "SampleSource",
    "Thumbnail",
    "card_drawer_key",
    "cjk_font",
    "draw_social_cards",
    "make_social_card",
    "make_thumbnails",
    "plan_widths",
    "sample_sources",
    "variants",
]
