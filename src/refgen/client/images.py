"""Turning what a caller has (a URL, a path, bytes, a PIL image) into what the contract takes.

URLs (``http``, ``https``) and data URLs pass through untouched. Everything else becomes
``data:image/<type>;base64,…``, the type read from the bytes (PNG, JPEG, WebP, GIF, BMP, TIFF), not
from the file name. PIL images are saved as PNG; Pillow is imported only when one is passed.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    ImageInput: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | PILImage
else:
    ImageInput: TypeAlias = Any

_URL_SCHEMES = ("http://", "https://", "data:")

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
)


def sniff_mime(data: bytes, name: str | None = None) -> str:
    """The image type of ``data`` from its first bytes; else guessed from ``name``; else PNG."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, offset, mime in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return mime
    if name:
        guessed = mimetypes.guess_type(name)[0]
        if guessed and guessed.startswith("image/"):
            return guessed
    return "image/png"


def data_url(data: bytes, mime: str | None = None) -> str:
    """``data:<mime>;base64,<data>``, the type sniffed from the bytes unless given."""
    return f"data:{mime or sniff_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"


def is_url(value: str) -> bool:
    return value[:8].lower().startswith(_URL_SCHEMES)


def _pil_to_png(image: Any) -> bytes:
    if image.mode not in ("1", "L", "LA", "I", "P", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _is_pil_image(value: object) -> bool:
    module = type(value).__module__
    if not module.startswith("PIL."):
        return False
    from PIL import Image

    return isinstance(value, Image.Image)


def encode_image(image: ImageInput) -> str:
    """One image input as the contract's string: a URL, or a data URL made from the bytes.

    A ``str`` that is not a URL is a local path. Raises ``FileNotFoundError`` for a path that does
    not exist and ``TypeError`` for anything that is not an image input.
    """
    if isinstance(image, str):
        if is_url(image):
            return image
        return _file_data_url(Path(image))
    if isinstance(image, os.PathLike):
        return _file_data_url(Path(os.fspath(image)))
    if isinstance(image, bytes | bytearray | memoryview):
        return data_url(bytes(image))
    if _is_pil_image(image):
        return data_url(_pil_to_png(image), "image/png")
    raise TypeError(f"an image must be a URL, a path, bytes or a PIL image, not {type(image).__name__}")


def _file_data_url(path: Path) -> str:
    data = path.expanduser().read_bytes()
    return data_url(data, sniff_mime(data, path.name))


def encode_images(images: ImageInput | Iterable[ImageInput]) -> list[str]:
    """Every image input encoded, in order; a single input (not in a list) is accepted too."""
    if isinstance(images, str | bytes | bytearray | memoryview | os.PathLike) or _is_pil_image(images):
        return [encode_image(cast("ImageInput", images))]
    return [encode_image(i) for i in cast("Iterable[ImageInput]", images)]
