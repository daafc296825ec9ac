"""The images stage: every output is decoded and checked; fetching runs against a real
HTTP server on 127.0.0.1 that counts the requests it receives."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import random
import re
import socket
import struct
import time
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loopback import Loopback, Raw, Reply
from PIL import Image, ImageDraw

from generator.images import (
    CardJob,
    ImageReport,
    ImageSettings,
    SampleRef,
    SampleSource,
    Thumbnail,
    draw_social_cards,
    make_social_card,
    make_thumbnails,
    plan_widths,
    sample_sources,
    store,
)
from generator.images.cards import CARDS_PER_POOL
from generator.images.stage import LOCAL_HASHES_FILE

REPO = Path(__file__).resolve().parents[2]
SEED_IMAGES = REPO.parent / "shared" / "seed-images"
SEED_COMMIT = "dbec3723f856fb4424e44cec25bcc204c75d7ddc"
NAME_RE = re.compile(r"^(?P<id>[a-z0-9-]+)-(?P<index>\d+)-(?P<width>\d+)w\.[0-9a-f]{8}\.(?P<ext>webp|jpg)$")
WHITE = (255, 255, 255)
FAST = ImageSettings(connect_timeout=2, read_timeout=2, retries=0, allow_private=True)


# --------------------------------------------------------------------------- helpers


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A picture with edges and gradients, so encoders and resizers have real work."""
    w, h = size
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(im)
    for i in range(12):
        x, y = (seed * 37 + i * 97) % w, (seed * 53 + i * 61) % h
        draw.rectangle((x, y, x + w // 6, y + h // 7), fill=((i * 40) % 256, (i * 90 + seed) % 256, (i * 150) % 256))
    return im


@dataclass
class Project:
    root: Path

    @property
    def out(self) -> Path:
        return self.root / "out"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def file(self, name: str, data: bytes) -> Path:
        path = self.root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def local(self, name: str, data: bytes, dataset: str = "ds", index: int = 0) -> SampleSource:
        path = self.file(name, data)
        return SampleSource(dataset, index, None, path, f"{dataset} sample {index + 1} (data/{name})")

    def run(self, samples: list[SampleSource], settings: ImageSettings = FAST, **options: object) -> ImageReport:
        options.setdefault("workers", 1)
        return make_thumbnails(samples, self.out, self.cache, settings, **options)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


def remote(url: str, dataset: str = "ds", index: int = 0) -> SampleSource:
    return SampleSource(dataset, index, url, None, f"{dataset} sample {index + 1} ({url})")


def decoded(thumbnail: Thumbnail, out_dir: Path) -> dict[str, Image.Image]:
    """Every output of a thumbnail, fully decoded, after checking what all outputs share."""
    images = {}
    for fmt, files in (("webp", thumbnail.webp), ("jpeg", thumbnail.jpeg)):
        assert [f.width for f in files] == sorted(f.width for f in files)
        assert files[-1].width == thumbnail.width and files[-1].height == thumbnail.height
        for f in files:
            match = NAME_RE.match(f.name)
            assert match, f.name
            named = (match["id"], int(match["index"]), int(match["width"]))
            assert named == (thumbnail.dataset_id, thumbnail.index, f.width)
            assert f.format == fmt
            with Image.open(out_dir / f.name) as im:
                im.load()
                assert im.format == fmt.upper()
                assert im.mode == "RGB"
                assert im.size == (f.width, f.height)
                assert im.getexif().get(0x0112) is None  # no orientation left for a viewer to re-apply
                images[f.name] = im.copy()
    return images


def close(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 8) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def only(report: ImageReport) -> Thumbnail:
    assert not report.warnings, report.warnings
    (thumbnail,) = report.thumbnails.values()
    return thumbnail


def only_warning(report: ImageReport) -> str:
    assert not report.thumbnails
    (warning,) = report.warnings
    assert "\n" not in warning.message and "Traceback" not in warning.message
    return warning.message


OCTETS = "application/octet-stream"
TRICKLED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n"
JPEG_BYTES = encode(photo((800, 600)), "JPEG", quality=90)


# --------------------------------------------------------------------------- sizes and widths


def test_plan_widths_never_upscales() -> None:
    assert plan_widths(2000, (320, 640, 1280)) == [320, 640, 1280]
    assert plan_widths(1000, (1280, 320, 640)) == [320, 640, 1000]
    assert plan_widths(640, (320, 640, 1280)) == [320, 640]
    assert plan_widths(419, (320, 640, 1280)) == [320, 419]
    assert plan_widths(200, (320, 640, 1280)) == [200]
    assert plan_widths(1280, (320, 640, 1280)) == [320, 640, 1280]


@given(st.integers(1, 10_000), st.lists(st.integers(1, 5_000), max_size=6))
def test_planned_widths_are_never_empty_never_upscaled_and_ascending(source: int, widths: list[int]) -> None:
    planned = plan_widths(source, widths)
    assert planned and all(w <= source for w in planned)
    assert planned == sorted(set(planned))
    assert set(planned) <= set(widths) | {source}
    positive = [w for w in widths if w > 0]
    # the largest variant is as wide as the page can use, or the whole source when narrower
    assert planned[-1] == (min(source, max(positive)) if positive else source)


def test_outputs_decode_at_the_planned_widths_without_upscaling(project: Project) -> None:
    report = project.run([project.local("wide.jpg", encode(photo((1000, 500)), "JPEG"))])
    thumbnail = only(report)
    assert (thumbnail.width, thumbnail.height) == (1000, 500)
    assert [(f.width, f.height) for f in thumbnail.webp] == [(320, 160), (640, 320), (1000, 500)]
    assert [(f.width, f.height) for f in thumbnail.jpeg] == [(320, 160), (640, 320), (1000, 500)]
    assert len(decoded(thumbnail, project.out)) == 6
    assert report.encoded == 1 and report.reused == 0


def test_source_narrower_than_smallest_width_keeps_its_own_width(project: Project) -> None:
    thumbnail = only(project.run([project.local("small.png", encode(photo((200, 150)), "PNG"))]))
    assert [(f.width, f.height) for f in thumbnail.webp] == [(200, 150)]
    decoded(thumbnail, project.out)


def test_large_jpeg_decoded_in_draft_mode_keeps_the_exact_aspect(project: Project) -> None:
    report = project.run([project.local("big.jpg", encode(photo((3001, 2001)), "JPEG"))])
    thumbnail = only(report)
    expected = [(w, round(2001 * w / 3001)) for w in (320, 640, 1280)]
    assert [(f.width, f.height) for f in thumbnail.jpeg] == expected
    images = decoded(thumbnail, project.out)
    largest = images[thumbnail.jpeg[-1].name]
    source = photo((3001, 2001)).resize(largest.size, Image.Resampling.LANCZOS)
    # the same picture, not merely the same size
    for point in ((100, 100), (640, 400), (1200, 800)):
        assert close(largest.getpixel(point), source.getpixel(point), 24)


# --------------------------------------------------------------------------- orientation and colour


def test_exif_orientation_6_comes_out_upright(project: Project) -> None:
    stored = Image.new("RGB", (600, 300), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 600, 150))  # top half red as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90° clockwise
    thumbnail = only(project.run([project.local("turned.jpg", encode(stored, "JPEG", exif=exif.tobytes()))]))
    assert (thumbnail.width, thumbnail.height) == (300, 600)  # portrait, as the reader should see it
    for im in decoded(thumbnail, project.out).values():
        assert close(im.getpixel((250, 300)), (255, 0, 0), 40)  # the stored top is now on the right
        assert close(im.getpixel((50, 300)), (0, 0, 255), 40)


def test_transparent_rgba_png_comes_out_white_not_black(project: Project) -> None:
    im = Image.new("RGBA", (400, 200), (0, 0, 0, 0))  # transparent black: the usual trap
    im.paste((255, 0, 0, 255), (0, 0, 100, 200))
    im.paste((0, 0, 0, 128), (300, 0, 400, 200))
    thumbnail = only(project.run([project.local("cutout.png", encode(im, "PNG"))]))
    for out in decoded(thumbnail, project.out).values():
        w, h = out.size
        assert close(out.getpixel((w // 2, h // 2)), WHITE)
        assert close(out.getpixel((w // 10, h // 2)), (255, 0, 0), 12)
        assert close(out.getpixel((w * 9 // 10, h // 2)), (127, 127, 127), 8)  # half-transparent black on white


def test_transparent_la_png_comes_out_white(project: Project) -> None:
    im = Image.new("LA", (300, 200), (0, 0))
    im.paste((40, 255), (0, 0, 60, 200))
    thumbnail = only(project.run([project.local("grey-alpha.png", encode(im, "PNG"))]))
    for out in decoded(thumbnail, project.out).values():
        assert close(out.getpixel((250, 100)), WHITE)
        assert close(out.getpixel((20, 100)), (40, 40, 40))


def test_palette_png_with_a_transparent_index_comes_out_white(project: Project) -> None:
    im = Image.new("P", (300, 200), 0)
    im.putpalette([0, 0, 0, 0, 160, 0] + [0] * (254 * 3))
    im.paste(1, (0, 0, 100, 200))
    thumbnail = only(project.run([project.local("palette.png", encode(im, "PNG", transparency=0))]))
    for out in decoded(thumbnail, project.out).values():
        assert close(out.getpixel((250, 100)), WHITE)
        assert close(out.getpixel((40, 100)), (0, 160, 0), 12)


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("cmyk.jpg", lambda: encode(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), "JPEG", quality=95), (255, 0, 0)),
        ("grey16.png", lambda: encode(Image.new("I;16", (300, 200), 32768), "PNG"), (128, 128, 128)),
        ("grey16.tif", lambda: encode(Image.new("I;16", (300, 200), 16384), "TIFF"), (64, 64, 64)),
        ("palette.gif", lambda: encode(Image.new("RGB", (300, 200), (0, 0, 200)).convert("P"), "GIF"), (0, 0, 200)),
        ("bilevel.png", lambda: encode(Image.new("1", (300, 200), 1), "PNG"), WHITE),
        ("grey.webp", lambda: encode(Image.new("L", (300, 200), 90), "WEBP", lossless=True), (90, 90, 90)),
        ("rgb16.png", lambda: encode(Image.new("RGB", (300, 200), (10, 200, 30)), "PNG", bits=16), (10, 200, 30)),
    ],
)
def test_colour_modes_convert_to_rgb(
    project: Project, name: str, make: Callable[[], bytes], expected: tuple[int, int, int]
) -> None:
    thumbnail = only(project.run([project.local(name, make())]))
    for out in decoded(thumbnail, project.out).values():
        assert close(out.getpixel((150, 100)), expected, 10), (name, out.getpixel((150, 100)))


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)


def swapped_primaries_profile() -> bytes:
    """An ICC v2 display profile whose red primary is sRGB's green and vice versa."""
    text = b"red and green swapped\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0" * 3 + b"\0" * 67
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233) + b"\0\0"  # gamma 2.2
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    tags = [
        (b"desc", desc),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(*green)),
        (b"gXYZ", _xyz(*red)),
        (b"bXYZ", _xyz(*blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    start = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", start + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", start + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
        + b"\0" * 12 + b"acsp" + b"\0" * 28 + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48
    )
    return header + table + body


def test_embedded_icc_profile_is_honoured(project: Project) -> None:
    im = Image.new("RGB", (300, 200), (255, 0, 0))  # red in numbers, green in its profile
    source = encode(im, "PNG", icc_profile=swapped_primaries_profile())
    thumbnail = only(project.run([project.local("profiled.png", source)]))
    for out in decoded(thumbnail, project.out).values():
        assert close(out.getpixel((150, 100)), (0, 255, 0), 12)
        assert "icc_profile" not in out.info  # outputs are plain sRGB


# --------------------------------------------------------------------------- refusals


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image: a decompression bomb's calling card."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_with_a_clear_message(project: Project) -> None:
    message = only_warning(project.run([project.local("bomb.png", png_declaring(30_000, 30_000))]))
    assert message.startswith("ds sample 1 (data/bomb.png): refused as a possible decompression bomb")
    assert message.endswith("the page shows a placeholder")


def test_image_over_max_pixels_is_refused_before_decoding(project: Project) -> None:
    settings = ImageSettings(max_pixels=10_000, allow_private=True)
    message = only_warning(project.run([project.local("big.jpg", encode(photo((200, 200)), "JPEG"))], settings))
    assert "possible decompression bomb: 200×200 = 40,000 pixels is more than the limit of 10,000" in message


def test_truncated_jpeg_is_refused_with_a_clear_message(project: Project) -> None:
    whole = encode(photo((800, 600)), "JPEG")
    message = only_warning(project.run([project.local("cut.jpg", whole[: len(whole) * 2 // 3])]))
    assert message.startswith("ds sample 1 (data/cut.jpg): the image file is truncated or corrupt (")
    assert "truncated" in message and message.endswith("the page shows a placeholder")


def test_a_text_file_named_jpg_is_not_an_image(project: Project) -> None:
    message = only_warning(project.run([project.local("notes.jpg", b"just some notes\n")]))
    assert "is not an image in a supported format" in message


def test_missing_local_file_is_a_warning(project: Project) -> None:
    sample = SampleSource("ds", 0, None, project.root / "data" / "gone.jpg", "ds sample 1 (data/gone.jpg)")
    assert "cannot read the file" in only_warning(project.run([sample]))


def test_one_bad_sample_does_not_stop_the_others(project: Project) -> None:
    good = project.local("good.jpg", JPEG_BYTES, index=0)
    bad = project.local("bad.jpg", b"<html></html>", index=1)
    report = project.run([good, bad])
    assert list(report.thumbnails) == [SampleRef("ds", 0)]
    assert [w.sample for w in report.warnings] == [SampleRef("ds", 1)]


def test_a_dataset_id_that_is_not_a_slug_is_a_caller_error(project: Project) -> None:
    sample = SampleSource("../escape", 0, None, project.file("a.jpg", JPEG_BYTES), "escape sample 1")
    with pytest.raises(ValueError, match="slugs"):
        project.run([sample])


def test_the_same_sample_twice_is_a_caller_error(project: Project) -> None:
    sample = project.local("a.jpg", JPEG_BYTES)
    with pytest.raises(ValueError, match="repeated"):
        project.run([sample, sample])


def test_warnings_name_the_line_of_the_sample_entry_in_the_data_file(project: Project) -> None:
    from generator.load import load_document
    from generator.validate import validate_document

    fixture = REPO / "tests" / "fixtures" / "site.yaml"
    doc = load_document(fixture, "tests/fixtures/site.yaml")
    sources = sample_sources(validate_document(doc, fixture.parent), fixture.parent, doc)
    lines = fixture.read_text(encoding="utf-8").splitlines()
    expected = []
    for source in sources:
        (number,) = [i for i, line in enumerate(lines, 1) if line.strip() == f"- url: {source.url}"]
        expected.append(f"tests/fixtures/site.yaml:{number}:{lines[number - 1].index('url') + 1}: {source.label}: not in the download cache")
    assert len(expected) >= 2
    report = project.run(sources, offline=True)
    assert [w.message.split(", and the build", 1)[0] for w in report.warnings] == expected


# --------------------------------------------------------------------------- fetching


def test_fetch_then_refetch_sends_if_none_match_and_reuses_the_body_on_304(project: Project, server: Loopback) -> None:
    server.route("/rpc.jpg", Reply(200, JPEG_BYTES, {"ETag": '"v1"'}, content_type="image/jpeg"))
    sample = remote(server.url("/rpc.jpg"))
    first = project.run([sample])
    decoded(only(first), project.out)
    second = project.run([sample])
    assert only(second) == only(first)
    first_request, second_request = server.requests("/rpc.jpg")
    assert first_request.header("If-None-Match") is None and first_request.status == 200
    assert second_request.header("If-None-Match") == '"v1"' and second_request.status == 304
    assert (second.encoded, second.reused) == (0, 1)


def test_refetch_sends_if_modified_since(project: Project, server: Loopback) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    server.route("/a.jpg", Reply(200, JPEG_BYTES, {"Last-Modified": stamp}, content_type="image/jpeg"))
    project.run([remote(server.url("/a.jpg"))])
    only(project.run([remote(server.url("/a.jpg"))]))
    assert [(r.header("If-Modified-Since"), r.status) for r in server.requests("/a.jpg")] == [(None, 200), (stamp, 304)]


def test_http_404_is_a_warning_and_is_not_retried(project: Project, server: Loopback) -> None:
    url = server.url("/missing.jpg")
    message = only_warning(project.run([remote(url)], ImageSettings(retries=2, allow_private=True)))
    assert message == f"ds sample 1 ({url}): could not fetch: HTTP 404 Not Found — the page shows a placeholder"
    assert server.count() == 1


def test_server_error_is_retried_and_then_succeeds(project: Project, server: Loopback) -> None:
    server.route("/flaky.jpg", [Reply(503), Reply(200, JPEG_BYTES, content_type=OCTETS)])
    only(project.run([remote(server.url("/flaky.jpg"))], ImageSettings(retries=2, allow_private=True)))
    assert server.count() == 2


def test_lasting_server_error_gives_up_after_the_retries(project: Project, server: Loopback) -> None:
    server.route("/down.jpg", Reply(500))
    message = only_warning(project.run([remote(server.url("/down.jpg"))], ImageSettings(retries=2, allow_private=True)))
    assert "could not fetch: HTTP 500 Internal Server Error (tried 3 times)" in message
    assert server.count() == 3


def test_slow_server_times_out_and_is_retried(project: Project, server: Loopback) -> None:
    server.route("/slow.jpg", Reply(200, JPEG_BYTES, content_type=OCTETS, delay=1.5))
    settings = ImageSettings(read_timeout=0.2, retries=1, allow_private=True)
    message = only_warning(project.run([remote(server.url("/slow.jpg"))], settings))
    assert "could not fetch: timed out (connect timeout 5 s, read timeout 0.2 s) (tried 2 times)" in message
    assert server.count() == 2


def test_refused_connection_is_a_warning(project: Project) -> None:
    with socket.socket() as closed:  # bind a port, never listen: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/a.jpg"
        message = only_warning(project.run([remote(url)]))
    assert "could not fetch: connection failed ([Errno 111] Connection refused) (tried once)" in message


@pytest.mark.parametrize(("send_length", "detail"), [(True, "(Content-Length 40,000)"), (False, "(stopped reading)")])
def test_body_over_the_size_cap_is_refused_and_not_retried(
    project: Project, server: Loopback, send_length: bool, detail: str
) -> None:
    server.route("/huge.jpg", Reply(200, b"\xff" * 40_000, content_type=OCTETS, send_length=send_length))
    settings = ImageSettings(max_bytes=10_000, retries=2, allow_private=True)
    message = only_warning(project.run([remote(server.url("/huge.jpg"))], settings))
    assert f"could not fetch: the body is larger than the 10,000-byte limit {detail}" in message
    assert server.count() == 1


def test_html_page_served_as_image_jpeg_is_recognised_by_decoding(project: Project, server: Loopback) -> None:
    page = b"<!DOCTYPE html>\n<html><body>Rate limit exceeded</body></html>\n"
    server.route("/photo.jpg", Reply(200, page, content_type="image/jpeg"))
    message = only_warning(project.run([remote(server.url("/photo.jpg"))]))
    assert "got an HTML page, not an image (the server said Content-Type: image/jpeg)" in message
    # and it was not cached as if it were the image
    assert "not in the download cache" in only_warning(project.run([remote(server.url("/photo.jpg"))], offline=True))
    assert server.count() == 1


def test_offline_uses_the_download_cache(project: Project, server: Loopback) -> None:
    server.route("/a.jpg", Reply(200, JPEG_BYTES, content_type=OCTETS))
    online = only(project.run([remote(server.url("/a.jpg"))]))
    for f in online.webp + online.jpeg:
        (project.out / f.name).unlink()  # force a re-encode from the cached body
    offline = project.run([remote(server.url("/a.jpg"))], offline=True)
    assert only(offline) == online and offline.encoded == 1
    assert server.count() == 1


def test_offline_without_a_cached_copy_is_a_warning(project: Project, server: Loopback) -> None:
    message = only_warning(project.run([remote(server.url("/a.jpg"))], offline=True))
    assert "not in the download cache, and the build is offline" in message
    assert server.count() == 0


def test_failed_refresh_falls_back_to_the_cached_copy(project: Project, server: Loopback) -> None:
    server.route("/a.jpg", [Reply(200, JPEG_BYTES, content_type=OCTETS), Reply(410)])
    first = only(project.run([remote(server.url("/a.jpg"))]))
    report = project.run([remote(server.url("/a.jpg"))])
    assert report.thumbnail("ds", 0) == first
    (warning,) = report.warnings
    assert "HTTP 410 Gone; used the copy cached by an earlier build" in warning.message


def test_mirror_file_is_used_instead_of_the_network(project: Project, server: Loopback) -> None:
    mirror = project.root / "mirror"
    mirror.mkdir()
    (mirror / "RPC.jpg").write_bytes(JPEG_BYTES)
    thumbnail = only(project.run([remote(server.url("/ColugoMum/Dataset/Image/RPC.jpg"))], mirror=mirror))
    decoded(thumbnail, project.out)
    assert server.count() == 0


def test_a_broken_mirror_file_is_named_in_the_warning(project: Project, server: Loopback) -> None:
    mirror = project.root / "mirror"
    mirror.mkdir()
    (mirror / "RPC.jpg").write_bytes(b"<html>saved the wrong thing</html>")
    message = only_warning(project.run([remote(server.url("/Image/RPC.jpg"))], mirror=mirror))
    assert f"got an HTML page, not an image (read from the mirror file {mirror / 'RPC.jpg'})" in message
    assert server.count() == 0


def test_mirror_without_the_file_falls_back_to_the_network(project: Project, server: Loopback) -> None:
    server.route("/other.jpg", Reply(200, JPEG_BYTES, content_type=OCTETS))
    (project.root / "mirror").mkdir()
    only(project.run([remote(server.url("/other.jpg"))], mirror=project.root / "mirror"))
    assert server.count() == 1


def test_a_url_shared_by_two_samples_is_fetched_once(project: Project, server: Loopback) -> None:
    server.route("/a.jpg", Reply(200, JPEG_BYTES, content_type=OCTETS))
    report = project.run([remote(server.url("/a.jpg"), "one"), remote(server.url("/a.jpg"), "two")])
    assert sorted(report.thumbnails) == [SampleRef("one", 0), SampleRef("two", 0)]
    assert server.count() == 1


def downloads(project: Project) -> list[Path]:
    return sorted((project.cache / "downloads").iterdir())


def test_a_download_is_kept_under_its_hash_and_nothing_half_written_is_left(project: Project, server: Loopback) -> None:
    server.route("/a.jpg", Reply(200, JPEG_BYTES, content_type=OCTETS))
    only(project.run([remote(server.url("/a.jpg"))]))
    bodies = [p for p in downloads(project) if p.suffix == ".img"]
    assert [p.name for p in bodies] == [f"{hashlib.sha256(JPEG_BYTES).hexdigest()}.img"]
    assert bodies[0].read_bytes() == JPEG_BYTES
    assert not [p for p in downloads(project) if p.name.endswith(".tmp")]


def test_a_damaged_download_is_discarded_with_one_warning_and_fetched_again(
    project: Project, server: Loopback, caplog: pytest.LogCaptureFixture
) -> None:
    server.route("/a.jpg", Reply(200, JPEG_BYTES, {"ETag": '"v1"'}, content_type=OCTETS))
    first = only(project.run([remote(server.url("/a.jpg"))]))
    (body,) = [p for p in downloads(project) if p.suffix == ".img"]
    body.write_bytes(JPEG_BYTES[: len(JPEG_BYTES) // 2])  # a truncated copy
    with caplog.at_level("WARNING", logger="sku_survey"):
        again = project.run([remote(server.url("/a.jpg"))])
    warned = [r.getMessage() for r in caplog.records if r.name == "sku_survey"]
    assert len(warned) == 1 and str(body) in warned[0] and "damaged or truncated" in warned[0], warned
    assert only(again) == first
    _, second = server.requests("/a.jpg")
    assert second.header("If-None-Match") is None and second.status == 200  # asked in full, not "not modified"
    assert body.read_bytes() == JPEG_BYTES


def test_a_damaged_download_record_is_discarded_with_one_warning(
    project: Project, server: Loopback, caplog: pytest.LogCaptureFixture
) -> None:
    server.route("/a.jpg", Reply(200, JPEG_BYTES, content_type=OCTETS))
    first = only(project.run([remote(server.url("/a.jpg"))]))
    (record,) = [p for p in downloads(project) if p.name.endswith(".record.json")]
    record.write_bytes(b'{"format": 1, "url": ')
    with caplog.at_level("WARNING", logger="sku_survey"):
        offline = project.run([remote(server.url("/a.jpg"))], offline=True)
    warned = [r.getMessage() for r in caplog.records if r.name == "sku_survey"]
    assert len(warned) == 1 and str(record) in warned[0], warned
    assert "not in the download cache" in only_warning(offline)
    assert only(project.run([remote(server.url("/a.jpg"))])) == first


def test_the_cache_keeps_one_body_per_url_when_a_sample_changes_or_goes(project: Project, server: Loopback) -> None:
    other = encode(photo((700, 500), 3), "JPEG")
    server.route("/a.jpg", Reply(200, JPEG_BYTES, content_type=OCTETS))
    server.route("/b.jpg", Reply(200, other, content_type=OCTETS))
    project.run([remote(server.url("/a.jpg")), remote(server.url("/b.jpg"), index=1)])
    assert len(downloads(project)) == 4  # a body and a record each
    server.route("/a.jpg", Reply(200, other, content_type=OCTETS))  # the same picture now: one body for both
    project.run([remote(server.url("/a.jpg")), remote(server.url("/b.jpg"), index=1)])
    assert [p.name for p in downloads(project) if p.suffix == ".img"] == [f"{hashlib.sha256(other).hexdigest()}.img"]
    project.run([remote(server.url("/a.jpg"))])  # b is no longer in the catalogue
    assert len(downloads(project)) == 2


def bulky_jpeg(seed: int, size: int = 1_000_000) -> bytes:
    """A small picture in a large file (bytes after the JPEG's end, as some cameras append):
    as many bytes as the test needs to see, and cheap to decode and encode."""
    rnd = random.Random(seed)
    picture = Image.frombytes("RGB", (160, 120), rnd.randbytes(160 * 120 * 3))
    return encode(picture, "JPEG", quality=90) + rnd.randbytes(size)


def test_memory_of_fetch_and_thumbnails_does_not_grow_with_the_number_of_images(tmp_path: Path, server: Loopback) -> None:
    """Python's own allocations (tracemalloc: every bytes object a sample's body could be
    held in) at their peak, over N and 4N distinct images from a loopback server. N is at
    least the fetch concurrency, so both runs download as many images at once."""
    n = 8
    bodies = [bulky_jpeg(i) for i in range(2 + 5 * n)]
    for i, body in enumerate(bodies):
        server.route(f"/{i}.jpg", Reply(200, body, content_type="image/jpeg"))
    largest = max(len(body) for body in bodies)

    def peak(first: int, count: int) -> int:
        project = Project(tmp_path / f"run-{first}")
        samples = [remote(server.url(f"/{i}.jpg"), f"d{i}") for i in range(first, first + count)]
        tracemalloc.start()
        try:
            report = project.run(samples)
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert not report.warnings and report.encoded == count, report.warnings
        return top

    peak(0, 2)  # imports, pools and caches that the first run sets up once
    small, large = peak(2, n), peak(2 + n, 4 * n)
    assert small < 4 * largest, (small, largest)
    # the report itself grows (a few KiB per sample); the bytes of the images must not
    assert large - small < largest, (small, large, largest)


# --------------------------------------------------------------------------- incremental and deterministic


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.iterdir())}


def test_second_run_reuses_everything_and_touches_no_file(project: Project) -> None:
    samples = [project.local(f"{i}.jpg", encode(photo((900, 600), i), "JPEG"), index=i) for i in range(3)]
    first = project.run(samples)
    before = _mtimes(project.out)
    second = project.run(samples)
    assert (second.encoded, second.reused) == (0, 3)
    assert second.thumbnails == first.thumbnails
    assert _mtimes(project.out) == before


def test_changed_settings_or_a_lost_output_are_encoded_again(project: Project) -> None:
    sample = project.local("a.jpg", JPEG_BYTES)
    first = only(project.run([sample]))
    assert project.run([sample], ImageSettings(connect_timeout=1, allow_private=True)).encoded == 0  # not an output setting
    assert project.run([sample], ImageSettings(jpeg_quality=60, allow_private=True)).encoded == 1
    (project.out / first.webp[0].name).unlink()
    again = project.run([sample])
    assert again.encoded == 1 and only(again) == first


def test_same_input_gives_identical_files_and_names_with_or_without_the_pool(tmp_path: Path) -> None:
    sources = [encode(photo((1400, 900), i), "JPEG") for i in range(3)] + [encode(photo((700, 500), 9), "PNG")]
    reports, folders = [], []
    for run, workers in (("a", 1), ("b", 2)):
        project = Project(tmp_path / run)
        samples = [project.local(f"{i}.img", data, index=i) for i, data in enumerate(sources)]
        reports.append(project.run(samples, workers=workers))
        folders.append(project.out)
    assert reports[0].thumbnails == reports[1].thumbnails
    names = sorted(p.name for p in folders[0].iterdir())
    assert names == sorted(p.name for p in folders[1].iterdir()) and len(names) == 3 * 6 + 1 * 6  # 700 px: 320, 640 and its own 700
    for name in names:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes()


def test_progress_bar_stays_off_when_stderr_is_not_a_terminal(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.run([project.local("a.jpg", JPEG_BYTES)], progress=True)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- seed images


SEED_NAMES = sorted(p.name for p in SEED_IMAGES.glob("*.jpg")) if SEED_IMAGES.is_dir() else []


@pytest.mark.skipif(not SEED_NAMES, reason="../shared/seed-images is not there")
def test_every_seed_image_produces_a_thumbnail_through_the_mirror(project: Project) -> None:
    samples = [
        remote(f"https://raw.githubusercontent.com/ColugoMum/Dataset/{SEED_COMMIT}/Image/{name}", f"seed-{i}")
        for i, name in enumerate(SEED_NAMES)
    ]
    # offline as well, so a missing mirror file can never reach the internet from a test
    report = project.run(samples, ImageSettings(allow_private=True), offline=True, mirror=SEED_IMAGES, workers=None)
    assert not report.warnings, report.warnings
    assert len(report.thumbnails) == len(SEED_NAMES) == report.encoded
    for i, name in enumerate(SEED_NAMES):
        with Image.open(SEED_IMAGES / name) as source:
            source_size = source.size
        thumbnail = report.thumbnails[SampleRef(f"seed-{i}", 0)]
        assert thumbnail.width <= source_size[0]
        assert abs(thumbnail.height - source_size[1] * thumbnail.width / source_size[0]) <= 0.5
        decoded(thumbnail, project.out)


# --------------------------------------------------------------------------- hashes remembered


def test_an_unchanged_local_file_is_not_hashed_again_and_a_changed_one_is(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    red = encode(Image.new("RGB", (400, 300), (200, 30, 30)), "JPEG")
    blue = encode(Image.new("RGB", (400, 300), (30, 30, 200)), "JPEG")
    sample = project.local("a.jpg", red)
    first = project.run([sample]).thumbnail("ds", 0)
    hashed: list[Path] = []
    hash_file = store.hash_file

    def counting(path: Path) -> tuple[str, int]:
        hashed.append(path)
        return hash_file(path)

    monkeypatch.setattr(store, "hash_file", counting)
    assert project.run([sample]).thumbnail("ds", 0) == first
    assert hashed == []  # its stat is the one it was hashed with
    sample.path.write_bytes(blue)  # another picture (a new modification time, maybe the same size)
    os.utime(sample.path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    changed = project.run([sample]).thumbnail("ds", 0)
    assert hashed == [sample.path] and changed != first


def test_a_damaged_memo_of_hashes_is_dropped_with_a_warning(project: Project, caplog: pytest.LogCaptureFixture) -> None:
    sample = project.local("a.jpg", encode(Image.new("RGB", (400, 300), (200, 30, 30)), "JPEG"))
    first = project.run([sample]).thumbnail("ds", 0)
    memo = project.cache / LOCAL_HASHES_FILE
    memo.write_text('{"format": 1, "files": {"x": 3}}', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert project.run([sample]).thumbnail("ds", 0) == first
    assert any(str(memo) in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- social card


def test_social_card_is_1200x630_deterministic_and_shows_the_thumbnail(tmp_path: Path) -> None:
    thumb = tmp_path / "thumb.jpg"
    thumb.write_bytes(encode(Image.new("RGB", (640, 480), (200, 30, 30)), "JPEG"))
    figures = ["83,739 images", "200 classes", "≈ 420,000 instances", "not shown: only three fit"]
    first, second, bare = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    make_social_card("RPC: Retail Product Checkout", figures, thumb, first)
    make_social_card("RPC: Retail Product Checkout", figures, thumb, second)
    make_social_card("A name far too long to fit on three lines of the card " * 3, [], None, bare)
    assert first.read_bytes() == second.read_bytes()
    for path in (first, bare):
        with Image.open(path) as card:
            assert card.format == "PNG" and card.size == (1200, 630)
    with Image.open(first) as card:
        assert close(card.getpixel((900, 315)), (200, 30, 30), 12)  # the thumbnail, on the right
    with Image.open(bare) as card:
        assert card.getpixel((900, 600)) == WHITE


def test_social_card_can_be_a_jpeg(tmp_path: Path) -> None:
    make_social_card("SKU-110K", ["11,762 images"], None, tmp_path / "card.jpg")
    with Image.open(tmp_path / "card.jpg") as card:
        assert card.format == "JPEG" and card.size == (1200, 630) and card.mode == "RGB"


def test_cards_drawn_in_the_pool_are_the_cards_drawn_one_by_one(tmp_path: Path) -> None:
    """Enough cards for the process pool: the same files, byte for byte, as drawing each here."""
    thumb = tmp_path / "thumb.jpg"
    thumb.write_bytes(encode(Image.new("RGB", (640, 480), (30, 120, 200)), "JPEG"))
    jobs = [CardJob(f"Dataset {i}", (f"{i:,} images",), thumb if i % 2 else None, tmp_path / "pool" / f"{i}.jpg", None) for i in range(CARDS_PER_POOL + 2)]
    draw_social_cards(jobs, workers=2)
    for job in jobs:
        alone = tmp_path / "alone" / job.out_path.name
        make_social_card(job.title, job.figures, job.thumbnail, alone)
        assert job.out_path.read_bytes() == alone.read_bytes()


def test_a_card_that_cannot_be_written_fails_the_drawing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    jobs = [CardJob(f"Dataset {i}", (), None, blocker / f"{i}.jpg", None) for i in range(CARDS_PER_POOL)]
    with pytest.raises(OSError):
        draw_social_cards(jobs, workers=2)


# --------------------------------------------------------------------------- the address guard and deadlines


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "2130706433", "127.1", "[::ffff:127.0.0.1]"])
def test_a_sample_on_a_loopback_address_is_refused_by_default(project: Project, server: Loopback, host: str) -> None:
    url = server.url("/a.jpg", host)
    message = only_warning(project.run([remote(url)], ImageSettings()))
    assert "not fetched" in message and "resolves to" in message and "--allow-private" in message
    assert server.count() == 0  # nothing was sent


def test_a_redirect_to_a_private_address_is_refused_at_that_hop(project: Project, server: Loopback) -> None:
    server.route("/a.jpg", Reply(302, b"", {"Location": f"http://127.0.0.2:{server.port}/b.jpg"}))
    settings = ImageSettings(allowed_addresses=frozenset({"127.0.0.1"}))
    message = only_warning(project.run([remote(server.url("/a.jpg"))], settings))
    assert f"not fetched: redirected to http://127.0.0.2:{server.port}/b.jpg, but 127.0.0.2 resolves to loopback" in message
    assert server.count() == 1


def test_a_sample_trickled_a_byte_at_a_time_is_cut_at_the_image_deadline(project: Project, server: Loopback) -> None:
    server.route("/slow.jpg", Raw(TRICKLED_HEAD, b"\xff" * 100_000, trickle=True))
    settings = ImageSettings(read_timeout=1, retries=2, max_seconds_per_image=0.5, allow_private=True)
    message = only_warning(project.run([remote(server.url("/slow.jpg"))], settings))
    assert "the download took longer than the image's 0.5 s limit (stopped)" in message
    assert server.cut.wait(5) and server.sent < 100_000


def test_trickled_headers_are_cut_too(project: Project, server: Loopback) -> None:
    server.route("/slow.jpg", Raw(b"", b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000, trickle=True))
    settings = ImageSettings(read_timeout=1, retries=0, max_seconds_per_image=0.5, allow_private=True)
    message = only_warning(project.run([remote(server.url("/slow.jpg"))], settings))
    assert "longer than the image's 0.5 s limit" in message
    assert server.cut.wait(5)


def test_all_downloads_of_a_build_share_one_deadline(project: Project, server: Loopback) -> None:
    server.fallback = Raw(TRICKLED_HEAD, b"\xff" * 100_000, trickle=True)
    settings = ImageSettings(read_timeout=1, max_seconds_per_image=60, max_fetch_seconds=0.5, allow_private=True)
    samples = [remote(server.url(f"/{i}.jpg"), index=i) for i in range(3)]
    report = project.run(samples, settings)
    assert not report.thumbnails and len(report.warnings) == 3
    assert all("the build's 0.5 s limit" in w.message or "had run out" in w.message for w in report.warnings)


def test_the_sample_fetcher_sends_the_projects_one_user_agent(project: Project, server: Loopback) -> None:
    from generator.net.policy import USER_AGENT

    project.run([remote(server.url("/a.jpg"))], ImageSettings(allow_private=True))
    assert server.agents() == [USER_AGENT]
