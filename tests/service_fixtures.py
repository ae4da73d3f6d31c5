"""Session-wide real services (PostgreSQL, an S3-compatible server), started on first use."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.services import postgres_server, s3_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "refgen-test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "refgen-test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with s3_server() as endpoint:
        yield endpoint
