"""The server assembled from settings: store, files, service, signer, workers, reaper.

``build_runtime`` is the one place that turns settings into objects; tests pass their own store,
files, fetcher or workers instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine

from refgen.backends.registry import ModelRoute, model_routes, served_models
from refgen.domain import TaskKind
from refgen.files.base import FileStore
from refgen.files.local import LocalFileStore
from refgen.files.urls import FileLinks, FileUrlSigner
from refgen.service import Authenticator, ImageFetcher, TaskService
from refgen.settings import Settings
from refgen.store.base import KeyStore, TaskQueue, TaskStore
from refgen.tokens import TokenCipher, hash_token, load_or_create_secret
from refgen.worker.groups import WorkerGroup
from refgen.worker.reaper import Reaper

log = logging.getLogger("refgen")


class ServerStore(KeyStore, TaskStore, TaskQueue, Protocol):
    def ping(self) -> bool: ...


def open_engine(settings: Settings, *, migrate: bool = True) -> Engine:
    """The database engine from settings, migrated to the newest schema unless told otherwise."""
    from refgen.store.engine import make_engine
    from refgen.store.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    return engine


def open_store(settings: Settings, *, migrate: bool = True, engine: Engine | None = None) -> ServerStore:
    from refgen.store.sql import SqlStore

    return SqlStore(engine if engine is not None else open_engine(settings, migrate=migrate))


def open_files(settings: Settings) -> FileStore:
    if settings.storage_url and settings.storage_url.startswith("s3://"):
        from refgen.files.s3 import S3FileStore

        return S3FileStore.from_url(
            settings.storage_url, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region
        )
    return LocalFileStore(settings.files_dir)


@dataclass
class Runtime:
    settings: Settings
    store: ServerStore
    files: FileStore
    cipher: TokenCipher
    service: TaskService
    signer: FileUrlSigner
    links: FileLinks
    authenticator: Authenticator
    routes: dict[str, ModelRoute]
    workers: WorkerGroup | None = None
    reaper: Reaper | None = None
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def served_models(self, kind: TaskKind) -> frozenset[str]:
        return served_models(self.routes, kind)

    def workers_alive(self) -> int:
        return self.workers.alive() if self.workers is not None else 0

    def notify_new_task(self) -> None:
        if self.workers is not None:
            self.workers.wake()

    def start(self) -> None:
        if self.reaper is not None:
            self.reaper.start()
        if self.workers is not None:
            self.workers.start()

    def stop(self) -> None:
        if self.workers is not None:
            self.workers.stop()
        if self.reaper is not None:
            self.reaper.stop()
        for close in reversed(self.on_close):
            close()


def build_runtime(
    settings: Settings,
    *,
    store: ServerStore | None = None,
    files: FileStore | None = None,
    fetcher: ImageFetcher | None = None,
    workers: WorkerGroup | None = None,
    process_workers: bool = True,
) -> Runtime:
    """Assemble the server. Without ``workers``, ``settings.workers`` child processes are started
    (when ``process_workers``); pass a :class:`~refgen.worker.groups.ThreadWorkers` in tests."""
    routes = model_routes(settings.model_map)
    on_close: list[Callable[[], None]] = []
    if store is None:
        engine = open_engine(settings)
        on_close.append(engine.dispose)
        store = open_store(settings, engine=engine)
    files = files if files is not None else open_files(settings)
    cipher = TokenCipher(load_or_create_secret(settings.data_dir, settings.secret_key))
    if fetcher is None:
        from refgen.outbound.fetcher import GuardedImageFetcher

        fetcher = GuardedImageFetcher(settings.allow_networks, timeout=settings.fetch_timeout)
    service = TaskService(store, files, fetcher, served_models=lambda kind: served_models(routes, kind))
    if workers is None and process_workers and settings.workers > 0:
        from refgen.worker.groups import ProcessWorkers
        from refgen.worker.process import worker_process_main

        workers = ProcessWorkers(
            settings.workers,
            worker_process_main,
            (settings.model_dump(),),
            store,
            max_attempts=settings.max_attempts,
        )
    signer = FileUrlSigner(cipher, settings.resolved_public_url)
    reaper = Reaper(
        store, max_attempts=settings.max_attempts, off_peak_expiry_seconds=settings.off_peak_expiry_seconds
    )
    return Runtime(
        settings=settings,
        store=store,
        files=files,
        cipher=cipher,
        service=service,
        signer=signer,
        links=FileLinks(files, signer),
        authenticator=Authenticator(store, hash_token),
        routes=routes,
        workers=workers,
        reaper=reaper,
        on_close=on_close,
    )
