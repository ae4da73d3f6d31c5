"""The unit tier needs no server: a test here that asks for PostgreSQL or S3 fails at once instead
of starting one (such a test belongs in ``tests/integration``)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def postgres_url() -> str:
    pytest.fail("unit tests run without a database server; move this test to tests/integration")


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    pytest.fail("unit tests run without an S3 server; move this test to tests/integration")
