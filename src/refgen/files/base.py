"""The contract for where references and creations are kept.

Keys are relative, slash-separated names (``tasks/<id>/refs/0.png``). A store never interprets them
beyond refusing ``..`` and absolute paths.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Protocol


class FileStore(Protocol):
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` atomically (readers never see half a file)."""

    def put_file(self, key: str, source: Path, content_type: str) -> None:
        """Store the file at ``source`` under ``key`` atomically, streaming it."""

    def fetch(self, key: str, destination: Path) -> None:
        """Copy the object at ``key`` to the local file ``destination``."""

    def local_path(self, key: str) -> Path | None:
        """The object's file on this machine, or None for remote stores."""

    def presigned_url(self, key: str, lifetime: float) -> str | None:
        """A link clients can download the object from directly, or None when the server serves it."""

    def delete_prefix(self, prefix: str) -> None:
        """Remove every object whose key starts with ``prefix``; missing objects are fine."""


def valid_key(key: str) -> bool:
    """A file-store key is a relative path below the store's root: no leading ``/``, no ``..``."""
    pure = PurePosixPath(key)
    return bool(pure.parts) and not pure.is_absolute() and ".." not in pure.parts


def task_prefix(task_id: str) -> str:
    """Where every file of one task lives: its references, its watermark and each attempt's output."""
    return f"tasks/{task_id}/"
