from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from refgen.errors import ImageFormatInvalid, PageSizeOutOfRange
from refgen.media.images import (
    FULL_SIZE,
    MAX_DATA_URL_BYTES,
    DecodeSize,
    decode,
    displayed_size,
    inspect_image,
    load_rgba,
    parse_data_url,
)
from refgen.media.scene import decode_size

Encode = Callable[..., bytes]


@pytest.mark.parametrize(
    ("fmt", "expected", "content_type", "extension"),
    [
        ("PNG", "png", "image/png", "png"),
        ("JPEG", "jpeg", "image/jpeg", "jpg"),
        ("WEBP", "webp", "image/webp", "webp"),
    ],
)
def test_inspect_image_accepts_png_jpeg_webp(
    encode: Encode, fmt: str, expected: str, content_type: str, extension: str
) -> None:
    info = inspect_image(encode((300, 200), fmt), "images[0]")
    assert (info.format, info.width, info.height) == (expected, 300, 200)
    assert (info.content_type, info.extension) == (content_type, extension)


def test_parse_data_url_png_labelled_jpeg_passes(encode: Encode, data_url: Callable[..., str]) -> None:
    data = parse_data_url(data_url(encode((256, 256), "PNG"), declared="image/jpeg"), "images[0]")
    assert inspect_image(data, "images[0]").format == "png"


def test_parse_data_url_accepts_extra_parameters_and_line_breaks(encode: Encode) -> None:
    raw = encode((256, 256), "PNG")
    b64 = base64.b64encode(raw).decode()
    wrapped = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    assert parse_data_url(f"data:image/png;name=a.png;base64,{wrapped}", "images[0]") == raw


@pytest.mark.parametrize(
    "value",
    [
        "data:image/png;base64,@@@notbase64",
        "data:image/png;base64,",
        "data:image/png;base64,aGVsbG8",  # bad padding
        "data:text/plain;base64,aGVsbG8=",
        "data:image/png,plain-not-base64",
        "hello",
    ],
)
def test_parse_data_url_refuses_malformed(value: str) -> None:
    with pytest.raises(ImageFormatInvalid, match=r"images\[2\]"):
        parse_data_url(value, "images[2]")


def test_parse_data_url_refuses_more_than_10_mb() -> None:
    payload = base64.b64encode(b"\x00" * (MAX_DATA_URL_BYTES + 10)).decode()
    with pytest.raises(PageSizeOutOfRange, match=r"images\[0\]"):
        parse_data_url(f"data:image/png;base64,{payload}", "images[0]")


@pytest.mark.parametrize("kind", ["gif", "bmp", "text", "empty", "png-magic-garbage"])
def test_inspect_image_refuses_other_formats(encode: Encode, kind: str) -> None:
    data = {
        "gif": lambda: encode((300, 300), "GIF"),
        "bmp": lambda: encode((300, 300), "BMP"),
        "text": lambda: b"just some text, not an image at all",
        "empty": lambda: b"",
        "png-magic-garbage": lambda: b"\x89PNG\r\n\x1a\n garbage",
    }[kind]()
    with pytest.raises(ImageFormatInvalid, match=r"images\[3\]"):
        inspect_image(data, "images[3]")


def test_inspect_image_refuses_truncated_pixels() -> None:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (400, 400, 3), dtype=np.uint8)).save(buf, "JPEG")
    data = buf.getvalue()
    with pytest.raises(ImageFormatInvalid, match=r"images\[1\]"):
        inspect_image(data[: len(data) // 2], "images[1]")


@pytest.mark.parametrize("size", [(100, 100), (100, 300), (300, 127)])
def test_inspect_image_refuses_under_128_px(encode: Encode, size: tuple[int, int]) -> None:
    with pytest.raises(PageSizeOutOfRange, match=r"images\[0\]"):
        inspect_image(encode(size, "PNG"), "images[0]")


@pytest.mark.parametrize("size", [(1000, 200), (200, 1000)])
def test_inspect_image_refuses_ratio_beyond_4_to_1(encode: Encode, size: tuple[int, int]) -> None:
    with pytest.raises(PageSizeOutOfRange, match=r"images\[0\]"):
        inspect_image(encode(size, "PNG"), "images[0]")


def test_inspect_image_accepts_exactly_4_to_1_and_128_px(encode: Encode) -> None:
    assert inspect_image(encode((512, 128), "PNG"), "images[0]").width == 512


@pytest.mark.parametrize("size", [(40000, 40000), (8000, 6000), (2**31 - 1, 2**31 - 1)])
def test_inspect_image_refuses_decompression_bomb_without_warning(
    png_declaring: Callable[[int, int], bytes], size: tuple[int, int]
) -> None:
    # the suite turns warnings into errors, so a DecompressionBombWarning would fail this test too
    with pytest.raises(PageSizeOutOfRange, match=r"images\[4\]"):
        inspect_image(png_declaring(*size), "images[4]")


def test_inspect_image_refuses_more_than_50_mb() -> None:
    with pytest.raises(PageSizeOutOfRange, match=r"images\[0\]"):
        inspect_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * (50 * 1024 * 1024), "images[0]")


def test_inspect_image_reports_exif_rotated_size() -> None:
    image = Image.new("RGB", (400, 200), (10, 20, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # displayed rotated by 90°
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    info = inspect_image(buf.getvalue(), "images[0]")
    assert (info.width, info.height) == (200, 400)
    assert load_rgba(buf.getvalue()).shape == (400, 200, 4)


def test_displayed_size_applies_the_exif_orientation(tmp_path: Path) -> None:
    image = Image.new("RGB", (400, 200), (10, 20, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    path = tmp_path / "sideways.jpg"
    image.save(path, "JPEG", exif=exif)
    assert displayed_size(path) == (200, 400)
    upright = tmp_path / "upright.png"
    Image.new("RGB", (400, 200)).save(upright)
    assert displayed_size(upright.read_bytes()) == (400, 200)


def test_load_rgba_turns_the_pixels_upright() -> None:
    """Orientation 6 (stored on its side, shown turned 90° clockwise): the stored left edge is the top."""
    image = Image.new("RGB", (400, 200), (20, 40, 220))
    image.paste((220, 30, 20), (0, 0, 200, 200))  # left half red, right half blue
    exif = image.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif, quality=95)
    rgba = load_rgba(buf.getvalue())
    assert rgba.shape == (400, 200, 4)
    top, bottom = rgba[50, 100], rgba[350, 100]
    assert top[0] > 180 and top[2] < 80  # red
    assert bottom[2] > 180 and bottom[0] < 80  # blue
    assert rgba.flags.writeable


def test_load_rgba_reads_16_bit_greyscale_by_its_top_bits() -> None:
    ramp = np.linspace(0, 65535, 256 * 200).reshape(200, 256).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")  # a 16-bit greyscale PNG
    rgba = load_rgba(buf.getvalue())
    assert rgba.shape == (200, 256, 4)
    expected = (ramp >> 8).astype(np.uint8)
    assert np.array_equal(rgba[..., 0], expected) and np.array_equal(rgba[..., 2], expected)
    assert (rgba[..., 3] == 255).all()


def test_load_rgba_keeps_alpha(tmp_path: Path, encode: Encode) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(encode((200, 150), "PNG", mode="RGBA"))
    rgba = load_rgba(path)
    assert rgba.shape == (150, 200, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[0, 0]) == (200, 60, 40, 128)


def test_load_rgba_converts_rgb_to_opaque(tmp_path: Path, encode: Encode) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(encode((200, 150), "JPEG"))
    rgba = load_rgba(path)
    assert rgba.shape == (150, 200, 4) and int(rgba[..., 3].min()) == 255


# ---------------------------------------------------------------- decoding reduced


def _flat_jpeg(path: Path, size: tuple[int, int], exif_orientation: int = 1) -> Path:
    image = Image.new("RGB", size, (90, 140, 200))
    image.paste((220, 40, 30), (0, 0, size[0] // 2, size[1] // 2))  # the stored top-left quarter is red
    exif = image.getexif()
    exif[0x0112] = exif_orientation
    image.save(path, "JPEG", quality=90, exif=exif)
    return path


def test_decode_size_scale_keeps_cover_contain_and_pixels() -> None:
    assert DecodeSize(cover=(1000, 500)).scale(4000, 1000) == 0.5  # the height must still cover 500
    assert DecodeSize(contain=(1000, 1000)).scale(4000, 1000) == 0.25  # fitted inside, 1000 wide
    assert DecodeSize(pixels=250_000).scale(2000, 2000) == 0.25
    sizes = DecodeSize(cover=(100, 100), contain=(1000, 1000), pixels=40_000)
    assert sizes.scale(4000, 2000) == 0.25  # the largest of the three asks
    assert DecodeSize(cover=(1000, 1000)).scale(500, 500) == 1.0  # never enlarged
    assert DecodeSize().scale(500, 500) == 0.0
    assert FULL_SIZE.scale(7745, 5163) == 1.0


def test_decode_40_mp_jpeg_for_1080p_decodes_at_half_size_never_full(tmp_path: Path) -> None:
    """libjpeg's DCT scaling (Pillow's ``draft``) decodes the JPEG straight to a reduced size: the
    image Pillow allocates and returns is the reduced one. A 640 × 360 frame shows it is not a
    full-size decode reduced afterwards: that would reduce by 7 (to 1107 × 738), libjpeg by 4."""
    path = _flat_jpeg(tmp_path / "big.jpg", (7745, 5163))
    image = decode(path, decode_size(1920, 1080))
    assert image.size == (3873, 2582)  # 1/2 of 7745 × 5163: 10 MP instead of 40
    image.close()
    image = decode(path, decode_size(640, 360))
    assert image.size == (1937, 1291)  # 1/4: the largest DCT scale still 2 × what a 640 × 360 frame fits
    image.close()
    rgba = load_rgba(path, decode_size(1920, 1080))
    assert rgba.shape == (2582, 3873, 4)
    assert tuple(rgba[10, 10, :3].astype(int)) == pytest.approx((220, 40, 30), abs=12)
    assert tuple(rgba[-10, -10, :3].astype(int)) == pytest.approx((90, 140, 200), abs=12)


def test_decode_reduced_keeps_the_exif_orientation(tmp_path: Path) -> None:
    path = _flat_jpeg(tmp_path / "sideways.jpg", (1600, 800), exif_orientation=6)  # shown 800 × 1600
    rgba = load_rgba(path, DecodeSize(contain=(200, 400)))
    assert rgba.shape == (400, 200, 4)  # upright, at 1/4 (the reduction is asked of the shown picture)
    assert tuple(rgba[10, -10, :3].astype(int)) == pytest.approx(
        (220, 40, 30), abs=12
    )  # stored top-left → top-right


def test_load_rgba_reduces_a_png_by_a_whole_factor_after_decoding(tmp_path: Path) -> None:
    ramp = np.tile(np.arange(1200, dtype=np.uint16) % 256, (900, 1)).astype(np.uint8)
    path = tmp_path / "wide.png"
    Image.fromarray(np.dstack([ramp, ramp, ramp])).save(path)
    rgba = load_rgba(path, DecodeSize(contain=(390, 290)))
    assert rgba.shape == (300, 400, 4)  # reduced by 3, still fitting 390 × 290 inside
    assert int(rgba[0, 1, 0]) == 4  # the box average of 3, 4 and 5


def test_load_rgba_reduces_a_palette_png_without_mixing_its_indices(tmp_path: Path) -> None:
    picture = Image.new("RGB", (800, 400), (250, 10, 10))
    picture.paste((10, 10, 250), (400, 0, 800, 400))
    path = tmp_path / "palette.png"
    picture.convert("P", palette=Image.Palette.ADAPTIVE, colors=2).save(path)
    rgba = load_rgba(path, DecodeSize(contain=(200, 100)))
    assert rgba.shape == (100, 200, 4)
    assert tuple(rgba[50, 20]) == (250, 10, 10, 255) and tuple(rgba[50, 180]) == (10, 10, 250, 255)


def test_load_rgba_reduced_still_refuses_a_decompression_bomb(
    png_declaring: Callable[[int, int], bytes],
) -> None:
    with pytest.raises(PageSizeOutOfRange):
        load_rgba(png_declaring(8000, 6000), DecodeSize(contain=(64, 64)))
