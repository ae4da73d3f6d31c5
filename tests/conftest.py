"""Shared fixtures: a server assembled from fakes (unit tier) and one key to call it with."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from refgen.files.local import LocalFileStore
from refgen.http.app import create_app
from refgen.keys import create_key
from refgen.runtime import Runtime, build_runtime
from refgen.settings import Settings
from refgen.testing.backends import FakeBackend, every_route
from refgen.testing.fetcher import FakeImageFetcher
from refgen.testing.store import MemoryStore
from refgen.worker.groups import ThreadWorkers
from refgen.worker.loop import Worker, WorkerTiming
from tests.service_fixtures import postgres_url, s3_endpoint

__all__ = ["postgres_url", "s3_endpoint"]  # session fixtures for every tier


@pytest.fixture(scope="session", autouse=True)
def _private_default_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The per-user default data folder ($XDG_DATA_HOME/refgen) in a temporary folder, for this
    process and the commands it starts: a test that forgets REFGEN_DATA_DIR never touches the home."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data-home")))
    yield
    patch.undo()


FAST = WorkerTiming(lease_seconds=5.0, heartbeat_seconds=0.05, poll_seconds=0.02)


@dataclass
class Server:
    client: TestClient
    runtime: Runtime
    store: MemoryStore
    files: LocalFileStore
    fetcher: FakeImageFetcher
    backend: FakeBackend
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}

    def new_token(self, name: str, **kwargs: int) -> str:
        _, token = create_key(self.store.keys, self.runtime.cipher, name, **kwargs)  # type: ignore[arg-type]
        return token


def make_server(
    tmp_path: Path,
    *,
    workers: int = 1,
    backend: FakeBackend | None = None,
    real_fetcher: bool = False,
    **settings: object,
) -> Iterator[Server]:
    store = MemoryStore()
    files = LocalFileStore(tmp_path / "files")
    fetcher = FakeImageFetcher()
    backend = backend or FakeBackend()
    config = Settings(data_dir=tmp_path / "data", **settings)  # type: ignore[arg-type]
    group = ThreadWorkers(
        [Worker(store.queue, files, every_route(backend), timing=FAST) for _ in range(workers)]
    )
    runtime = build_runtime(
        config,
        store=store,
        files=files,
        fetcher=None if real_fetcher else fetcher,
        workers=group,
        speaks=lambda route: backend.speaks,
    )
    _, token = create_key(store.keys, runtime.cipher, "tester")
    with TestClient(create_app(runtime=runtime)) as client:
        yield Server(client, runtime, store, files, fetcher, backend, token)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from make_server(tmp_path / "server")


@pytest.fixture
def idle_server(tmp_path: Path) -> Iterator[Server]:
    """A server with no workers: tasks stay queued."""
    yield from make_server(tmp_path / "idle", workers=0)
