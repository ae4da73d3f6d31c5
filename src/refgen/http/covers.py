"""``GET /covers/{key}``: a small JPEG of a stored picture (a video's cover, an image creation, a
reference), for thumbnails: at most :data:`COVER_SIDE` px on its longer side.

It opens with the same signed link as the file itself: the console turns
``/files/<key>?expires=…&signature=…`` into ``/covers/<key>?expires=…&signature=…``, so a cover is
exactly as private and lasts exactly as long as the link to its file. The small copy is made once, on
the first request, and stored beside the file (``<key>.small.jpg``: removed with the task's other
files). Only files this server serves have such links; a store that hands out its own presigned links
(S3) is not covered, and the console then shows the full cover.
"""

from __future__ import annotations

import io
from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from PIL import Image

from refgen.errors import Forbidden, NotFound
from refgen.files.base import valid_key
from refgen.http.parts import FilesDep

COVER_SIDE = 320
SMALL_SUFFIX = ".small.jpg"
_PICTURES = (".png", ".jpg", ".jpeg", ".webp")
_CACHE = {"Cache-Control": "private, max-age=86400"}

router = APIRouter(include_in_schema=False)


def small_cover(source: Path, side: int = COVER_SIDE) -> bytes:
    """The picture at ``source`` as a JPEG no larger than ``side`` px on either side."""
    with Image.open(source) as image:
        image.thumbnail((side, side))
        rgb = image.convert("RGB")
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=82, optimize=True)
    return out.getvalue()


@router.get("/covers/{key:path}")
async def cover(key: str, files: FilesDep, expires: str = "", signature: str = "") -> Response:
    if not files.verify(key, expires, signature):
        raise Forbidden("link expired or signature invalid")
    if not valid_key(key) or not key.lower().endswith(_PICTURES) or key.endswith(SMALL_SUFFIX):
        raise NotFound(f"no cover for: {key}")
    small_key = key + SMALL_SUFFIX
    made = files.local_path(small_key)
    if made is not None:
        return FileResponse(made, media_type="image/jpeg", headers=_CACHE)
    source = files.local_path(key)
    if source is None:
        raise NotFound(f"file not found: {key}")
    data = await anyio.to_thread.run_sync(small_cover, source)
    await anyio.to_thread.run_sync(files.files.put_bytes, small_key, data, "image/jpeg")
    return Response(data, media_type="image/jpeg", headers=_CACHE)
