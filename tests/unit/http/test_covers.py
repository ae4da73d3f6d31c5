"""``/covers/<key>``: a small JPEG of a stored picture, opened with that file's own signed link,
made once and stored beside it."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from PIL import Image

from refgen.http.covers import COVER_SIDE, SMALL_SUFFIX
from tests.conftest import Server
from tests.images import picture

KEY = "tasks/t1/out/image.png"


def cover_link(server: Server, key: str = KEY) -> str:
    parts = urlsplit(server.runtime.signer.url(key))
    return parts.path.replace("/files/", "/covers/", 1) + "?" + parts.query


def test_cover_is_small_jpeg_made_once_and_stored(idle_server: Server) -> None:
    idle_server.files.put_bytes(KEY, picture(1280, 720), "image/png")
    first = idle_server.client.get(cover_link(idle_server))
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(first.content)) as image:
        assert image.size == (COVER_SIDE, 180)
    stored = idle_server.files.local_path(KEY + SMALL_SUFFIX)
    assert stored is not None and stored.read_bytes() == first.content
    idle_server.files.put_bytes(KEY, picture(640, 640), "image/png")  # the stored copy is served again
    assert idle_server.client.get(cover_link(idle_server)).content == first.content


def test_cover_needs_the_files_signature(idle_server: Server) -> None:
    idle_server.files.put_bytes(KEY, picture(400, 300), "image/png")
    link = cover_link(idle_server)
    assert idle_server.client.get(link.replace("signature=", "signature=x")).status_code == 403
    other = cover_link(idle_server, "tasks/t1/out/other.png")
    assert idle_server.client.get(other).status_code == 404  # signed, but nothing there
    video = cover_link(idle_server, "tasks/t1/out/video.mp4")
    assert idle_server.client.get(video).status_code == 404  # only pictures have covers
