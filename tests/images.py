"""Reference pictures for tests, made in code: a coloured subject on a plain background."""

from __future__ import annotations

import base64
import io
import struct
import zlib

from PIL import Image, ImageDraw


def picture(
    width: int = 512,
    height: int = 512,
    *,
    colour: tuple[int, int, int] = (220, 60, 40),
    background: tuple[int, int, int] = (235, 235, 225),
    fmt: str = "PNG",
) -> bytes:
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.25, height * 0.15, width * 0.75, height * 0.9), fill=colour)
    draw.rectangle((width * 0.4, height * 0.3, width * 0.6, height * 0.5), fill=(30, 30, 30))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A tiny PNG whose header declares a huge size."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (10, 200, 10)).save(out, format="GIF")
    return out.getvalue()
