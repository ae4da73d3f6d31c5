"""A file store in memory, with the same rules as the real ones (keys checked, writes atomic)."""

from __future__ import annotations

import threading
from pathlib import Path, PurePosixPath

from refgen.errors import FileStoreError


class MemoryFileStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.objects: dict[str, tuple[bytes, str]] = {}  # key -> (data, content type)

    @staticmethod
    def _key(key: str) -> str:
        pure = PurePosixPath(key)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise FileStoreError(f"invalid file key: {key!r}")
        return str(pure)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        with self._lock:
            self.objects[self._key(key)] = (bytes(data), content_type)

    def put_file(self, key: str, source: Path, content_type: str) -> None:
        self.put_bytes(key, source.read_bytes(), content_type)

    def fetch(self, key: str, destination: Path) -> None:
        with self._lock:
            found = self.objects.get(self._key(key))
        if found is None:
            raise FileStoreError(f"cannot read {key}: no such object")
        destination.write_bytes(found[0])

    def local_path(self, key: str) -> Path | None:
        return None

    def presigned_url(self, key: str, lifetime: float) -> str | None:
        return None

    def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self.objects if k.startswith(prefix)]:
                del self.objects[key]
