"""Files in an S3-compatible bucket: streamed uploads (multipart for large files), presigned links.

Needs the ``s3`` extra (boto3). The endpoint, region and credentials come from settings or boto3's
standard sources (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, …).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from refgen.errors import BackendUnavailable, FileStoreError
from refgen.files.base import valid_key

MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNK = 16 * 1024 * 1024


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → (``bucket``, ``some/prefix/``)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise FileStoreError(f"storage URL must look like s3://bucket/prefix, got {url!r}")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


class S3FileStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        try:
            import boto3
            from boto3.s3.transfer import TransferConfig
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError:
            raise BackendUnavailable("S3 storage needs the s3 extra: pip install 'refgen[s3]'") from None
        self.bucket = bucket
        self.prefix = prefix
        self._errors: tuple[type[Exception], ...] = (BotoCoreError, ClientError, OSError)
        self._client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"}),
        )
        self._transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNK, use_threads=False
        )

    @classmethod
    def from_url(cls, url: str, *, endpoint_url: str | None = None, region: str | None = None) -> S3FileStore:
        bucket, prefix = parse_s3_url(url)
        return cls(bucket, prefix, endpoint_url=endpoint_url, region=region)

    def _key(self, key: str) -> str:
        if not valid_key(key):
            raise FileStoreError(f"invalid file key: {key!r}")
        return self.prefix + str(PurePosixPath(key))

    def _fail(self, action: str, key: str, exc: Exception) -> FileStoreError:
        return FileStoreError(f"cannot {action} s3://{self.bucket}/{self._key(key)}: {exc}")

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
            )
        except self._errors as exc:
            raise self._fail("write", key, exc) from exc

    def put_file(self, key: str, source: Path, content_type: str) -> None:
        try:
            self._client.upload_file(
                str(source),
                self.bucket,
                self._key(key),
                ExtraArgs={"ContentType": content_type},
                Config=self._transfer,
            )
        except self._errors as exc:
            raise self._fail("write", key, exc) from exc

    def fetch(self, key: str, destination: Path) -> None:
        try:
            self._client.download_file(self.bucket, self._key(key), str(destination), Config=self._transfer)
        except self._errors as exc:
            raise self._fail("read", key, exc) from exc

    def local_path(self, key: str) -> Path | None:
        return None

    def presigned_url(self, key: str, lifetime: float) -> str | None:
        try:
            url: str = self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=int(lifetime)
            )
        except self._errors as exc:
            raise self._fail("sign a link to", key, exc) from exc
        return url

    def delete_prefix(self, prefix: str) -> None:
        full = self._key(prefix.rstrip("/")) + ("/" if prefix.endswith("/") else "")
        try:
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
                objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if objects:
                    self._client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
                    )
        except self._errors as exc:
            raise self._fail("delete", prefix, exc) from exc

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors:
            return False
        return True
