"""Checking that pixel data is whole without decoding it at full size (refgen.media.integrity)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from refgen.errors import ImageFormatInvalid
from refgen.media.images import inspect_image
from refgen.media.integrity import ADAM7, check_pixel_data, png_raw_size


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(pixels: np.ndarray, *, interlaced: bool, raw_extra: bytes = b"", idat_pieces: int = 3) -> bytes:
    """A greyscale PNG written by hand (Pillow writes no Adam7), its IDAT split into pieces."""
    h, w = pixels.shape
    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    raw = b"".join(
        b"\x00" + pixels[y, x0::dx].tobytes() for x0, y0, dx, dy in passes if x0 < w for y in range(y0, h, dy)
    )
    data = zlib.compress(raw + raw_extra)
    step = len(data) // idat_pieces + 1
    idats = b"".join(_chunk(b"IDAT", data[i : i + step]) for i in range(0, len(data), step))
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 1 if interlaced else 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + idats + _chunk(b"IEND", b"")


def _pixels() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (133, 141), dtype=np.uint8)


def test_png_raw_size_counts_filter_bytes_packed_samples_and_adam7_passes() -> None:
    assert png_raw_size(141, 133, 8, 1, interlaced=False) == 133 * 142
    assert png_raw_size(10, 2, 1, 1, interlaced=False) == 2 * 3  # 10 one-bit samples: 2 bytes a row
    assert png_raw_size(1, 1, 8, 3, interlaced=True) == 4  # only the first pass has a pixel
    assert png_raw_size(141, 133, 16, 4, interlaced=True) > png_raw_size(141, 133, 16, 4, interlaced=False)


@pytest.mark.parametrize("interlaced", [False, True])
def test_inspect_image_accepts_a_whole_png_and_refuses_it_cut_short(interlaced: bool) -> None:
    pixels = _pixels()
    data = _png(pixels, interlaced=interlaced)
    with Image.open(io.BytesIO(data)) as decoded:  # the hand-written file is a real PNG
        assert np.array_equal(np.asarray(decoded), pixels)
    assert inspect_image(data, "images[0]").width == 141
    for cut in (len(data) // 2, len(data) - 13):  # in the pixel data; just before the end chunk
        with pytest.raises(ImageFormatInvalid, match=r"images\[0\]"):
            inspect_image(data[:cut], "images[0]")


def test_inspect_image_refuses_png_pixel_data_too_long_or_corrupt() -> None:
    with pytest.raises(ImageFormatInvalid):
        inspect_image(_png(_pixels(), interlaced=False, raw_extra=b"\x00" * 200), "images[0]")
    data = bytearray(_png(_pixels(), interlaced=False, idat_pieces=1))
    start = data.index(b"IDAT") + 4
    data[start + 200 : start + 210] = bytes(
        10
    )  # damaged deflate data (the chunk's CRC is not what zlib checks)
    with pytest.raises(ImageFormatInvalid):
        inspect_image(bytes(data), "images[0]")


def test_inspect_image_refuses_a_webp_with_a_cut_chunk() -> None:
    buf = io.BytesIO()
    Image.fromarray(np.dstack([_pixels()] * 3)).save(buf, "WEBP")
    data = buf.getvalue()
    assert inspect_image(data, "images[0]").format == "webp"
    with pytest.raises(ImageFormatInvalid):
        inspect_image(data[:-10], "images[0]")
    riff_says_shorter = (
        data[:4] + struct.pack("<I", len(data) - 8 - 10) + data[8:-10]
    )  # size fixed up, chunk cut
    with pytest.raises(ImageFormatInvalid):
        inspect_image(riff_says_shorter, "images[0]")


def test_check_pixel_data_decodes_a_jpeg_at_an_eighth() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), (30, 90, 200)).save(buf, "JPEG")
    image = JpegImagePlugin.JpegImageFile(io.BytesIO(buf.getvalue()))
    check_pixel_data(image, buf.getvalue())
    assert image.size == (500, 375)  # what was decoded: 1/64 of the pixels
