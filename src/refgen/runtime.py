"""The server assembled from settings: store, files, service, signer, workers, reaper.

``build_runtime`` is the one place that turns settings into objects; tests pass their own store,
files, fetcher or workers instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Protocol

from sqlalchemy import Engine

from refgen.backends.registry import ModelRoute, model_routes, served_models
from refgen.callbacks.dispatcher import CallbackDispatcher
from refgen.contract.catalogue import Catalogue, with_credits
from refgen.domain import Route, TaskKind
from refgen.errors import RefgenError
from refgen.files.base import FileStore
from refgen.files.local import LocalFileStore
from refgen.files.urls import FileLinks, FileUrlSigner
from refgen.service import Authenticator, ImageFetcher, TaskService
from refgen.settings import Settings
from refgen.store.base import CallbackOutbox, KeyStore, TaskQueue, TaskStore, WorkerRegistry
from refgen.store.notify import TaskNotifier
from refgen.tokens import TokenCipher, hash_token, load_or_create_secret
from refgen.worker.groups import WorkerGroup
from refgen.worker.reaper import Reaper

log = logging.getLogger("refgen")


class ServerStore(Protocol):
    """The whole store, one part per concern (a worker gets only ``queue``, the authenticator
    only ``keys``, ...)."""

    @property
    def keys(self) -> KeyStore: ...

    @property
    def tasks(self) -> TaskStore: ...

    @property
    def queue(self) -> TaskQueue: ...

    @property
    def outbox(self) -> CallbackOutbox: ...

    @property
    def workers(self) -> WorkerRegistry: ...

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


def scale_out_problems(settings: Settings, *, api: bool) -> list[str]:
    """Why this configuration cannot work across machines (API replicas and separate workers)."""
    problems = []
    if settings.resolved_database_url.startswith("sqlite"):
        problems.append(
            "the database is a SQLite file on this machine; set REFGEN_DATABASE_URL=postgresql://… "
            "so API and worker processes on other machines share it"
        )
    if not (settings.storage_url or "").startswith("s3://"):
        problems.append(
            "files are kept in a folder on this machine; set REFGEN_STORAGE_URL=s3://bucket/prefix "
            "so every process reads and writes the same files"
        )
    if api and not settings.secret_key:
        problems.append(
            "REFGEN_SECRET_KEY is not set; every API process needs the same secret "
            "to read stored keys and sign links"
        )
    return problems


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
    routes: dict[Route, ModelRoute]
    catalogue: Catalogue
    workers: WorkerGroup | None = None
    reaper: Reaper | None = None
    callbacks: CallbackDispatcher | None = None
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def served_models(self, kind: TaskKind) -> frozenset[str]:
        return served_models(self.routes, kind)

    def workers_alive(self) -> int:
        """This server's own workers when it has some, else the registered workers seen within a lease."""
        if self.workers is not None:
            return self.workers.alive()
        now = datetime.now(UTC)
        return sum(w.alive(now, self.settings.lease_seconds) for w in self.store.workers.list_workers())

    def start(self) -> None:
        if self.reaper is not None:
            self.reaper.start()
        if self.workers is not None:
            self.workers.start()
        if self.callbacks is not None:
            self.callbacks.start()

    def stop(self) -> None:
        if self.workers is not None:
            self.workers.stop()
        if self.reaper is not None:
            self.reaper.stop()
        if self.callbacks is not None:
            self.callbacks.stop()
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
    callbacks: CallbackDispatcher | None = None,
) -> Runtime:
    """Assemble the server. Without ``workers``, ``settings.workers`` child processes are started
    (when ``process_workers``); pass a :class:`~refgen.worker.groups.ThreadWorkers` in tests.
    Without ``callbacks``, a dispatcher sends callbacks through the outbound guard."""
    routes = model_routes(settings.model_map)
    try:
        catalogue = with_credits(settings.credits)
    except ValueError as exc:
        raise RefgenError(f"REFGEN_CREDITS: {exc}") from None
    on_close: list[Callable[[], None]] = []
    notifier: TaskNotifier | None = None
    if store is None:
        engine = open_engine(settings)
        on_close.append(engine.dispose)
        store = open_store(settings, engine=engine)
        notifier = TaskNotifier(engine)
    files = files if files is not None else open_files(settings)
    cipher = TokenCipher(load_or_create_secret(settings.data_dir, settings.secret_key))
    if fetcher is None:
        from refgen.outbound.fetcher import GuardedImageFetcher

        fetcher = GuardedImageFetcher(settings.allow_networks, timeout=settings.fetch_timeout)
    if workers is None and process_workers and settings.workers > 0:
        from refgen.worker.groups import ProcessWorkers
        from refgen.worker.process import worker_process_main

        workers = ProcessWorkers(
            settings.workers,
            worker_process_main,
            (settings.model_dump(),),
            store.queue,
            max_attempts=settings.max_attempts,
        )
    group = workers

    def on_queued() -> None:
        if group is not None:
            group.wake()
        if notifier is not None:
            notifier.notify()

    service = TaskService(
        store.tasks,
        files,
        fetcher,
        served_models=lambda kind: served_models(routes, kind),
        on_queued=on_queued,
        catalogue=catalogue,
    )
    signer = FileUrlSigner(cipher, settings.resolved_public_url)
    reaper = Reaper(
        store.queue,
        max_attempts=settings.max_attempts,
        off_peak_expiry_seconds=settings.off_peak_expiry_seconds,
        worker_timeout=settings.lease_seconds,
    )
    links = FileLinks(files, signer)
    if callbacks is None:
        from refgen.http.views import generation_body
        from refgen.outbound import AddressPolicy, GuardedClient

        policy = AddressPolicy(settings.allow_networks)
        callbacks = CallbackDispatcher(
            store,
            decrypt=cipher.decrypt,
            render=partial(generation_body, links=links),
            transport=lambda: GuardedClient(policy, user_agent="refgen-callbacks"),
            retry_delays=settings.callback_retry_delays,
        )
    return Runtime(
        settings=settings,
        store=store,
        files=files,
        cipher=cipher,
        service=service,
        signer=signer,
        links=links,
        authenticator=Authenticator(store.keys, hash_token),
        routes=routes,
        catalogue=catalogue,
        workers=workers,
        reaper=reaper,
        callbacks=callbacks,
        on_close=on_close,
    )
