"""Whether an image's pixel data is whole, checked without decoding it at full size.

The API process checks every reference when a task is created, and a 40-megapixel picture decoded
at full size there would cost 120–160 MB for a yes or no. Each format is checked its own cheap way:

- **JPEG**: decoded at 1/8 of its size (libjpeg's DCT scaling, Pillow's ``draft``): every bit of
  the entropy-coded data is still read, so a truncated or corrupt file fails as a full decode
  would, for 1/64 of the memory.
- **PNG**: the IDAT chunks are inflated as a stream, a bounded piece at a time, and thrown away; the
  data must inflate to exactly the size the header implies (a row filter byte and the packed samples
  of every row, of every Adam7 pass when interlaced), and zlib checks its Adler-32 at the end.
  Truncated, corrupt, short or overlong data are all refused.
- **WebP**: the RIFF container must be complete: the size it declares present, and every chunk
  within it. A WebP whose compressed bitstream is damaged inside a complete container is refused
  by the worker that decodes it (the task fails with ``ImageFormatInvalid``), not at create time.

Every failure raises one of the errors Pillow raises on bad data (``OSError``, ``ValueError``,
``zlib.error``…), which the caller turns into the contract's refusal.
"""

from __future__ import annotations

import math
import struct
import zlib

from PIL.ImageFile import ImageFile

PNG_SIGNATURE = 8
FEED_CHUNK = 1 << 16
INFLATE_CHUNK = 1 << 20
"""Compressed bytes fed to zlib, and raw bytes taken out of it, at a time while checking."""
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
"""Adam7 passes: first column, first row, column step, row step."""


def check_pixel_data(image: ImageFile, data: bytes) -> None:
    """Raise if the pixel data of ``image`` (opened lazily from ``data``) is not whole."""
    if image.format == "JPEG":
        image.draft(None, (1, 1))  # the smallest scale libjpeg offers: 1/8
        image.load()
    elif image.format == "PNG":
        check_png(data)
    elif image.format == "WEBP":
        check_webp(data)
    else:
        raise ValueError(f"no pixel check for {image.format}")


def check_png(data: bytes) -> None:
    """Inflate the IDAT stream of a PNG in bounded pieces; it must be exactly as long as its header
    implies and pass zlib's own checks."""
    width, height, depth, colour, interlace = _png_header(data)
    expected = png_raw_size(width, height, depth, _PNG_CHANNELS[colour], interlaced=interlace == 1)
    inflater = zlib.decompressobj()
    total = 0
    for body in _png_chunks(data, b"IDAT"):
        for start in range(0, len(body), FEED_CHUNK):
            pending: bytes | memoryview = body[start : start + FEED_CHUNK]
            while pending and not inflater.eof:
                total += len(inflater.decompress(pending, INFLATE_CHUNK))
                pending = inflater.unconsumed_tail
                if total > expected:
                    raise ValueError("PNG pixel data is longer than its header says")
    while not inflater.eof:  # what zlib still holds back
        more = inflater.decompress(b"", INFLATE_CHUNK)
        if not more:
            break
        total += len(more)
        if total > expected:
            raise ValueError("PNG pixel data is longer than its header says")
    if not inflater.eof or total != expected:
        raise ValueError("PNG pixel data is truncated")


def png_raw_size(width: int, height: int, depth: int, channels: int, *, interlaced: bool) -> int:
    """Bytes of filtered PNG rows for the image: per row, a filter byte and the packed samples."""

    def rows(w: int, h: int) -> int:
        return 0 if w == 0 or h == 0 else h * (1 + math.ceil(w * depth * channels / 8))

    if not interlaced:
        return rows(width, height)
    return sum(
        rows(math.ceil(max(0, width - x0) / dx), math.ceil(max(0, height - y0) / dy))
        for x0, y0, dx, dy in ADAM7
    )


def check_webp(data: bytes) -> None:
    """The RIFF container is complete: its declared size is all there and every chunk fits in it."""
    (declared,) = struct.unpack_from("<I", data, 4)
    end = 8 + declared
    if declared < 4 or end > len(data):
        raise ValueError("WebP file is truncated")
    offset = 12
    while offset + 8 <= end:
        (size,) = struct.unpack_from("<I", data, offset + 4)
        if offset + 8 + size > end:
            raise ValueError("WebP chunk is truncated")
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    if offset < end:
        raise ValueError("WebP chunk header is truncated")


def _png_header(data: bytes) -> tuple[int, int, int, int, int]:
    (length,) = struct.unpack_from(">I", data, PNG_SIGNATURE)
    if data[PNG_SIGNATURE + 4 : PNG_SIGNATURE + 8] != b"IHDR" or length != 13:
        raise ValueError("PNG does not start with its header")
    width, height, depth, colour, _, _, interlace = struct.unpack_from(">IIBBBBB", data, PNG_SIGNATURE + 8)
    if colour not in _PNG_CHANNELS:
        raise ValueError(f"PNG colour type {colour} is not valid")
    return width, height, depth, colour, interlace


def _png_chunks(data: bytes, kind: bytes) -> list[memoryview]:
    """The bodies of every ``kind`` chunk, in order (views, no copies); raises when a chunk is cut."""
    view = memoryview(data)
    bodies = []
    offset = PNG_SIGNATURE
    while offset + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        chunk = data[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(data):
            raise ValueError(f"PNG chunk {chunk!r} is truncated")
        if chunk == kind:
            bodies.append(view[offset + 8 : offset + 8 + length])
        if chunk == b"IEND":
            return bodies
        offset = end
    raise ValueError("PNG has no end chunk")
