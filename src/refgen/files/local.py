"""Files on local disk under one folder; writes go to a temporary name and are renamed into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from refgen.errors import FileStoreError
from refgen.files.base import valid_key


class LocalFileStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if not valid_key(key):
            raise FileStoreError(f"invalid file key: {key!r}")
        return self.root.joinpath(*PurePosixPath(key).parts)

    def _atomic_target(self, key: str) -> tuple[Path, Path]:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
        os.close(fd)
        return target, Path(tmp)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        target, tmp = self._atomic_target(key)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise FileStoreError(f"cannot write {key}: {exc}") from exc

    def put_file(self, key: str, source: Path, content_type: str) -> None:
        target, tmp = self._atomic_target(key)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise FileStoreError(f"cannot write {key}: {exc}") from exc

    def fetch(self, key: str, destination: Path) -> None:
        try:
            shutil.copyfile(self._path(key), destination)
        except OSError as exc:
            raise FileStoreError(f"cannot read {key}: {exc}") from exc

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def presigned_url(self, key: str, lifetime: float) -> str | None:
        return None

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
