"""Reference images: parse data URLs, validate bytes against the contract's image rules, load pixels.

The rules (``spec/vidu-api.md``): PNG, JPEG or WebP, told apart by their magic bytes and never by
the declared type; each side ≥ 128 px; aspect ratio within 1:4 … 4:1; ≤ 50 MB; a decoded data URL
≤ 10 MB; decompression bombs refused. Every refusal names the field (``images[3]``).

Size refusals (too many bytes, too many pixels, too small, too elongated) are all reported as
:class:`~refgen.errors.PageSizeOutOfRange`: it is the one reason the contract has for "this image is
the wrong size", and a client reading ``reason`` learns the same thing from each of them. Anything
that is not a readable PNG/JPEG/WebP (wrong format, bad base64, truncated pixels) is
:class:`~refgen.errors.ImageFormatInvalid`.

Dimensions are read from the header with the format's Pillow plugin *before* any pixel is decoded.
The plugin classes are constructed directly instead of through ``Image.open``, so Pillow's own
decompression-bomb check (a process-wide warning filter) never runs: our limit (40 megapixels) is
lower than Pillow's and is checked first, which keeps validation thread-safe and warning-free.
Validation never decodes the pixels at full size either: that the pixel data is whole is checked
by :mod:`refgen.media.integrity`.

A worker decodes a picture no larger than its output uses (:class:`DecodeSize`): a JPEG straight
at 1/2, 1/4 or 1/8 of its size (libjpeg's DCT scaling, Pillow's ``draft``), so the full-size
picture never exists; any other format at full size, then at once reduced by a whole factor
(``Image.reduce``, a box average) and the full-size copy released. A 40-megapixel photo for a 1080p
video is decoded at 10 megapixels, a third of the memory, and a picture no larger than the output
uses is decoded as it is.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin
from PIL.ImageFile import ImageFile

from refgen.errors import ImageFormatInvalid, PageSizeOutOfRange
from refgen.media.integrity import check_pixel_data

MAX_DATA_URL_BYTES = 10 * 1024 * 1024
"""Largest decoded data URL payload."""
MAX_IMAGE_BYTES = 50 * 1024 * 1024
"""Largest image file (the contract's limit): also what the outbound client reads at most."""
MAX_PIXELS = 40_000_000
"""Largest width × height accepted; more is treated as a decompression bomb."""
MIN_SIDE = 128
MAX_ASPECT = 4.0

ImageFormat = Literal["png", "jpeg", "webp"]

_DATA_URL = re.compile(r"^data:image/[A-Za-z0-9.+\-]*(?:;[^,;]*)*?;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(rb"\s+")
_CONTENT_TYPES: dict[ImageFormat, tuple[str, str]] = {
    "png": ("image/png", "png"),
    "jpeg": ("image/jpeg", "jpg"),
    "webp": ("image/webp", "webp"),
}
_PLUGINS: dict[ImageFormat, type[ImageFile]] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
}
# Errors Pillow raises on malformed or truncated data.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, struct.error, zlib.error)


@dataclass(frozen=True)
class ImageInfo:
    """What validation learned about an image. ``width``/``height`` are as displayed (EXIF applied)."""

    format: ImageFormat
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self.format][0]

    @property
    def extension(self) -> str:
        """File extension without the dot: ``png``, ``jpg`` or ``webp``."""
        return _CONTENT_TYPES[self.format][1]


@dataclass(frozen=True)
class DecodeSize:
    """How much of a picture's resolution an output uses, so that it can be decoded reduced.

    A picture is decoded at the least scale (never above 1) that keeps all three: it still covers
    ``cover`` (width, height), as a backdrop is cropped to cover the frame; fitted inside
    ``contain`` it still fills it on one side, as a subject or a model's reference input is fitted
    into its box; and it keeps at least ``pixels`` pixels, for an input sized by a pixel budget.
    A zero asks nothing. The decoded picture is never smaller than asked, only up to twice larger
    (the reductions come in whole factors).
    """

    cover: tuple[int, int] = (0, 0)
    contain: tuple[int, int] = (0, 0)
    pixels: int = 0

    def scale(self, width: int, height: int) -> float:
        """The least scale of a ``width`` × ``height`` picture (as displayed) that keeps what is asked."""
        cover = max(self.cover[0] / width, self.cover[1] / height)
        contain = min(self.contain[0] / width, self.contain[1] / height)
        budget = math.sqrt(self.pixels / (width * height))
        return min(1.0, max(cover, contain, budget))


FULL_SIZE = DecodeSize(cover=(2**31, 2**31))
"""Decode at full size."""


def parse_data_url(s: str, field: str) -> bytes:
    """Decode ``data:image/<type>;base64,<data>``; the declared type is not trusted, only required.

    Raises ImageFormatInvalid for anything malformed and PageSizeOutOfRange when the decoded payload
    is over 10 MB (checked on the encoded length first, so a huge string is never decoded).
    """
    match = _DATA_URL.match(s)
    if match is None:
        raise ImageFormatInvalid(
            f"image is not a base64 data URL (data:image/<type>;base64,...): {field}", field=field
        )
    payload = _WHITESPACE.sub(b"", s[match.end() :].encode("ascii", errors="replace"))
    if len(payload) // 4 * 3 > MAX_DATA_URL_BYTES + 3:
        raise _too_large(field, MAX_DATA_URL_BYTES, "decoded data URL")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageFormatInvalid(f"image data URL is not valid base64: {field}", field=field) from None
    if not data:
        raise ImageFormatInvalid(f"image data URL is empty: {field}", field=field)
    if len(data) > MAX_DATA_URL_BYTES:
        raise _too_large(field, MAX_DATA_URL_BYTES, "decoded data URL")
    return data


def sniff_format(data: bytes) -> ImageFormat | None:
    """The format the magic bytes say, or None for anything other than PNG, JPEG and WebP."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def inspect_image(data: bytes, field: str) -> ImageInfo:
    """Validate an image's bytes against the contract's rules and say what it is.

    Order: byte size, magic bytes, header dimensions (no pixels decoded), pixel budget, minimum side,
    aspect ratio, then a check that the pixel data is whole, never decoding it at full size
    (:func:`refgen.media.integrity.check_pixel_data`).
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise _too_large(field, MAX_IMAGE_BYTES, "image")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageFormatInvalid(f"image format is invalid, use PNG, JPEG or WebP: {field}", field=field)
    image = _open_lazily(data, fmt, field)
    try:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise ImageFormatInvalid(f"image has no pixels: {field}", field=field)
        if width * height > MAX_PIXELS:
            raise PageSizeOutOfRange(
                f"image declares {width}x{height} pixels, over {MAX_PIXELS // 1_000_000} megapixels: {field}",
                field=field,
            )
        if min(width, height) < MIN_SIDE:
            raise PageSizeOutOfRange(
                f"image is {width}x{height}, each side must be at least {MIN_SIDE} px: {field}", field=field
            )
        if max(width, height) > MAX_ASPECT * min(width, height):
            raise PageSizeOutOfRange(
                f"image aspect ratio {width}:{height} is outside 1:4 to 4:1: {field}", field=field
            )
        width, height = _displayed_size(image)
        try:
            check_pixel_data(image, data)
        except _DECODE_ERRORS:
            raise ImageFormatInvalid(f"image data is truncated or corrupt: {field}", field=field) from None
    finally:
        image.close()
    return ImageInfo(format=fmt, width=width, height=height)


def displayed_size(source: Path | str | bytes) -> tuple[int, int]:
    """An already validated image's width and height as shown (EXIF orientation applied), read
    from its header: no pixels are decoded."""
    image = _open_stored(source)
    try:
        return _displayed_size(image)
    finally:
        image.close()


def load_rgba(source: Path | str | bytes, size: DecodeSize = FULL_SIZE) -> npt.NDArray[np.uint8]:
    """Decode an already validated image to an RGBA uint8 array ``(H, W, 4)``, EXIF orientation
    applied, reduced to what ``size`` asks (see :class:`DecodeSize` and the module docstring)."""
    image = decode(source, size)
    try:
        rgba = image.convert("RGBA")
    finally:
        image.close()
    return np.asarray(rgba, dtype=np.uint8).copy()


def decode(source: Path | str | bytes, size: DecodeSize = FULL_SIZE) -> Image.Image:
    """An already validated image's pixels, reduced to what ``size`` asks and turned upright, in the
    mode they decode to (16-bit greyscale as its top eight bits). The caller closes it."""
    image = _open_stored(source)
    try:
        w, h = image.size
        if w * h > MAX_PIXELS:
            raise PageSizeOutOfRange(f"image declares {w}x{h} pixels")
        orientation = _orientation(image)
        scale = size.scale(*((h, w) if orientation in (5, 6, 7, 8) else (w, h)))
        wanted = (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale)))  # as stored
        try:
            if scale < 1:
                image.draft(None, wanted)  # a JPEG decodes at 1/2, 1/4 or 1/8 of its size; others ignore it
            image.load()
            out = _upright(_reduced(_eight_bit(image), wanted), orientation)
        except _DECODE_ERRORS:
            raise ImageFormatInvalid("image data is truncated or corrupt") from None
    except BaseException:
        image.close()
        raise
    if out is not image:
        image.close()  # the full-size pixels go now, before the next picture is decoded
    return out


_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA"})
"""Modes ``Image.reduce`` averages correctly (a palette's indices, for one, must not be averaged)."""
_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation → the transpose that turns the stored pixels upright (as ``ImageOps.exif_transpose``)."""


def _reduced(image: Image.Image, wanted: tuple[int, int]) -> Image.Image:
    """``image`` reduced by the largest whole factor that keeps it at least ``wanted``; the input
    is left to the caller to close (the full-size pixels go with it)."""
    factor = min(image.width // wanted[0], image.height // wanted[1])
    if factor < 2:
        return image
    if image.mode not in _REDUCIBLE:
        image = image.convert("RGBA")
    return image.reduce(factor)


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSES.get(orientation)
    return image if method is None else image.transpose(method)


_WIDE_GREY = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit greyscale (a PNG) as its top eight bits: Pillow's own conversion would clip every
    value over 255 to white."""
    if image.mode not in _WIDE_GREY:
        return image
    wide = np.asarray(image).astype(np.uint32)
    return Image.fromarray(np.minimum(wide >> 8, 255).astype(np.uint8), "L")


def _open_stored(source: Path | str | bytes) -> ImageFile:
    """An already validated image (bytes or a file), opened lazily: only its header is read (a file
    is read from disk as it is decoded, never whole into memory)."""
    if isinstance(source, bytes):
        fmt = sniff_format(source)
        if fmt is None:
            raise ImageFormatInvalid("image format is invalid, use PNG, JPEG or WebP")
        return _open_lazily(source, fmt, "image")
    path = Path(source)
    with path.open("rb") as f:
        fmt = sniff_format(f.read(12))
    if fmt is None:
        raise ImageFormatInvalid("image format is invalid, use PNG, JPEG or WebP")
    try:
        return _PLUGINS[fmt](str(path))  # the image owns the file and closes it
    except (*_DECODE_ERRORS, Image.DecompressionBombError):
        raise ImageFormatInvalid(f"image data is not a readable {fmt.upper()}") from None


def _open_lazily(data: bytes, fmt: ImageFormat, field: str) -> ImageFile:
    try:
        return _PLUGINS[fmt](io.BytesIO(data))
    except (*_DECODE_ERRORS, Image.DecompressionBombError):
        raise ImageFormatInvalid(
            f"image data is not a readable {fmt.upper()}: {field}", field=field
        ) from None


def _displayed_size(image: ImageFile) -> tuple[int, int]:
    width, height = image.size
    return (height, width) if _orientation(image) in (5, 6, 7, 8) else (width, height)


def _orientation(image: ImageFile) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) else 1


def _too_large(field: str, limit: int, what: str) -> PageSizeOutOfRange:
    return PageSizeOutOfRange(f"{what} is larger than {limit // (1024 * 1024)} MB: {field}", field=field)
