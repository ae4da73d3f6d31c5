"""Image builders for media tests, as fixtures: real encodings made with Pillow, hand-written PNG chunks.

Test modules get these through fixtures (not ``from conftest import``) so the suite works in any
pytest import mode and beside other folders' conftest files.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image


def _encode(
    size: tuple[int, int], fmt: str, color: tuple[int, int, int] = (200, 60, 40), mode: str = "RGB"
) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color if mode == "RGB" else (*color, 128)).save(buf, fmt)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR declares ``width`` × ``height`` RGB pixels (with a few bytes of IDAT)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _data_url(data: bytes, declared: str = "image/png") -> str:
    return f"data:{declared};base64,{base64.b64encode(data).decode()}"


Encode = Callable[..., bytes]


@pytest.fixture
def encode() -> Encode:
    """``encode((w, h), "PNG", color=..., mode="RGB"|"RGBA") -> bytes``."""
    return _encode


@pytest.fixture
def png_declaring() -> Callable[[int, int], bytes]:
    return _png_declaring


@pytest.fixture
def data_url() -> Callable[..., str]:
    return _data_url
