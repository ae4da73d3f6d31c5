"""The S3 file store against a real S3-compatible server (moto's server mode)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from refgen.errors import FileStoreError
from refgen.files.s3 import MULTIPART_THRESHOLD, S3FileStore, parse_s3_url


@pytest.fixture
def store(s3_endpoint: str) -> S3FileStore:
    bucket = f"refgen-{uuid.uuid4().hex[:12]}"
    files = S3FileStore(bucket, "deploy/a/", endpoint_url=s3_endpoint, region="us-east-1")
    files._client.create_bucket(Bucket=bucket)
    return files


def test_s3_store_round_trip_and_content_type(store: S3FileStore, tmp_path: Path) -> None:
    store.put_bytes("tasks/t/refs/0.png", b"\x89PNG-bytes", "image/png")
    target = tmp_path / "copy.png"
    store.fetch("tasks/t/refs/0.png", target)
    assert target.read_bytes() == b"\x89PNG-bytes"
    head = store._client.head_object(Bucket=store.bucket, Key="deploy/a/tasks/t/refs/0.png")
    assert head["ContentType"] == "image/png"
    assert store.local_path("tasks/t/refs/0.png") is None


def test_s3_store_large_files_go_up_in_parts(store: S3FileStore, tmp_path: Path) -> None:
    source = tmp_path / "big.mp4"
    with source.open("wb") as f:
        for i in range(MULTIPART_THRESHOLD // (1024 * 1024) + 3):
            f.write(bytes([i % 251]) * (1024 * 1024))
    store.put_file("tasks/t/out1/video.mp4", source, "video/mp4")
    head = store._client.head_object(Bucket=store.bucket, Key="deploy/a/tasks/t/out1/video.mp4")
    assert head["ContentLength"] == source.stat().st_size
    assert "-" in head["ETag"], "expected a multipart upload"


def test_s3_store_presigned_links_download_and_ranges(store: S3FileStore) -> None:
    store.put_bytes("tasks/t/out1/cover.jpg", b"0123456789", "image/jpeg")
    url = store.presigned_url("tasks/t/out1/cover.jpg", 24 * 3600)
    assert url is not None and "X-Amz-Expires=86400" in url
    assert httpx.get(url).content == b"0123456789"
    assert httpx.get(url, headers={"Range": "bytes=2-4"}).content == b"234"


def test_s3_store_delete_prefix(store: S3FileStore) -> None:
    for key in ("tasks/t/refs/0.png", "tasks/t/out1/video.mp4", "tasks/u/refs/0.png"):
        store.put_bytes(key, b"x", "application/octet-stream")
    store.delete_prefix("tasks/t/")
    assert not store.exists("tasks/t/refs/0.png") and not store.exists("tasks/t/out1/video.mp4")
    assert store.exists("tasks/u/refs/0.png")


def test_s3_url_parsing_and_bad_keys(store: S3FileStore) -> None:
    assert parse_s3_url("s3://bucket/some/prefix") == ("bucket", "some/prefix/")
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    with pytest.raises(FileStoreError):
        parse_s3_url("/local/path")
    with pytest.raises(FileStoreError):
        store.put_bytes("../escape", b"x", "text/plain")
