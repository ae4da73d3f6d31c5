"""What both conformance files need: their placeholders, auth headers, and what a server has stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Server
from tests.images import bomb_png, data_url, gif, picture

PLACEHOLDERS = {
    "$IMG": data_url(picture()),
    "$IMG_JPEG": data_url(picture(fmt="JPEG"), "image/jpeg"),
    "$IMG_WEBP": data_url(picture(fmt="WEBP"), "image/webp"),
    "$IMG_PNG_AS_JPEG": data_url(picture(), "image/jpeg"),
    "$IMG_100PX": data_url(picture(100, 100)),
    "$IMG_5TO1": data_url(picture(1000, 200)),
    "$IMG_GIF": data_url(gif(), "image/gif"),
    "$NOT_AN_IMAGE": data_url(b"this is plain text, not a picture at all"),
    "$IMG_BOMB": data_url(bomb_png()),
    "$21MB": "x" * 21_000_000,
    # the family's vectors
    "$IMG_WIDE": data_url(picture(1280, 720)),
    "$IMG_TALL": data_url(picture(720, 1280)),
    "$IMG_5TO4": data_url(picture(640, 512)),
    "$IMG_4TO3": data_url(picture(640, 480)),
}


def expand(value: Any, names: dict[str, str] | None = None) -> Any:
    """``value`` with its placeholders replaced; ``names`` holds ``$TASK:name``/``$PREV:field`` values."""
    if isinstance(value, list):
        return [expand(v, names) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, names) for k, v in value.items()}
    if isinstance(value, str):
        if value.startswith("$REPEAT:"):
            _, char, count = value.split(":")
            return char * int(count)
        if names is not None and value in names:
            return names[value]
        return PLACEHOLDERS.get(value, value)
    return value


def headers(auth: str, token: str) -> dict[str, str]:
    return {
        "Token": {"Authorization": f"Token {token}"},
        "Bearer": {"Authorization": f"Bearer {token}"},
        "none": {},
        "wrong": {"Authorization": "Token not-a-key"},
    }[auth]


def task_count(server: Server) -> int:
    key = server.runtime.authenticator.key_for(server.token)
    assert key is not None
    return len(server.store.tasks.list_tasks(key.id, limit=10_000))


def stored_files(server: Server) -> list[Path]:
    return [p for p in server.files.root.rglob("*") if p.is_file()]
