"""Local file store and signed file URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from refgen.errors import FileStoreError
from refgen.files.local import LocalFileStore
from refgen.files.urls import FileUrlSigner
from refgen.tokens import TokenCipher, hash_token, load_or_create_secret, new_token


def test_local_store_round_trip_and_delete(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    store.put_bytes("tasks/a/refs/0.png", b"png", "image/png")
    source = tmp_path / "src.bin"
    source.write_bytes(b"video")
    store.put_file("tasks/a/out1/video.mp4", source, "video/mp4")
    copy = tmp_path / "copy"
    store.fetch("tasks/a/out1/video.mp4", copy)
    assert copy.read_bytes() == b"video"
    assert store.local_path("tasks/a/refs/0.png") == tmp_path / "tasks/a/refs/0.png"
    assert store.local_path("tasks/a/missing") is None
    store.delete_prefix("tasks/a/")
    assert not (tmp_path / "tasks/a").exists()
    assert not list(tmp_path.rglob(".tmp-*"))


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", ""])
def test_local_store_refuses_escaping_keys(tmp_path: Path, key: str) -> None:
    with pytest.raises(FileStoreError):
        LocalFileStore(tmp_path / "root").put_bytes(key, b"x", "text/plain")


def test_signed_urls_expire_and_resist_forgery() -> None:
    now = [1_000_000.0]
    signer = FileUrlSigner(TokenCipher(b"s" * 40), "http://h:1/", clock=lambda: now[0])
    url = signer.url("tasks/a/out1/video.mp4")
    assert url.startswith("http://h:1/files/tasks/a/out1/video.mp4?expires=1086400&signature=")
    signature = url.rpartition("signature=")[2]
    assert signer.verify("tasks/a/out1/video.mp4", "1086400", signature)
    assert not signer.verify("tasks/b/out1/video.mp4", "1086400", signature)
    assert not signer.verify("tasks/a/out1/video.mp4", "1086401", signature)
    other = FileUrlSigner(TokenCipher(b"t" * 40), "http://h:1", clock=lambda: now[0])
    assert not other.verify("tasks/a/out1/video.mp4", "1086400", signature)
    now[0] += 86_401
    assert not signer.verify("tasks/a/out1/video.mp4", "1086400", signature)


def test_secret_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = load_or_create_secret(tmp_path, None)
    assert load_or_create_secret(tmp_path, None) == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret(tmp_path, "configured-secret") == b"configured-secret"


def test_tokens_are_kept_encrypted_and_found_by_hash() -> None:
    cipher = TokenCipher(b"k" * 40)
    token = new_token()
    blob = cipher.encrypt(token)
    assert token.encode() not in blob
    assert cipher.decrypt(blob) == token
    assert hash_token(token) != token and len(hash_token(token)) == 64


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_file_stores_agree(kind: str, tmp_path: Path) -> None:
    from refgen.testing.files import MemoryFileStore

    store = LocalFileStore(tmp_path / "root") if kind == "local" else MemoryFileStore()
    store.put_bytes("tasks/a/refs/0.png", b"one", "image/png")
    source = tmp_path / "s"
    source.write_bytes(b"two")
    store.put_file("tasks/a/out1/video.mp4", source, "video/mp4")
    store.put_bytes("tasks/b/refs/0.png", b"three", "image/png")
    copy = tmp_path / "copy"
    store.fetch("tasks/a/out1/video.mp4", copy)
    assert copy.read_bytes() == b"two"
    assert store.presigned_url("tasks/a/refs/0.png", 60) is None
    store.delete_prefix("tasks/a/")
    with pytest.raises(FileStoreError):
        store.fetch("tasks/a/refs/0.png", copy)
    store.fetch("tasks/b/refs/0.png", copy)
    assert copy.read_bytes() == b"three"
    with pytest.raises(FileStoreError):
        store.put_bytes("../x", b"", "text/plain")
