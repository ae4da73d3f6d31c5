"""The server assembled from settings: store, files, service, signer, workers, reaper, retention.

``build_runtime`` is the one place that turns settings into objects; tests pass their own store,
files, fetcher or workers instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from refgen.backends.registry import ModelRoute, model_routes, served_models, speaking_routes
from refgen.background import Service
from refgen.callbacks.dispatcher import CallbackDispatcher
from refgen.clock import utcnow
from refgen.contract.catalogue import Catalogue, with_credits
from refgen.domain import Route, TaskKind
from refgen.errors import RefgenError
from refgen.files.base import FileStore
from refgen.files.urls import FileLinks, FileUrlSigner
from refgen.metrics import Metrics
from refgen.metrics.exposition import add_worker_processes, fresh_multiprocess_dir
from refgen.metrics.queue import QueueCollector
from refgen.resources import ServerStore, open_engine, open_files, open_store
from refgen.retention import RetentionSweeper
from refgen.service import Authenticator, ImageFetcher, TaskService
from refgen.settings import Settings
from refgen.store.base import QueueLimits
from refgen.store.notify import TaskNotifier
from refgen.tokens import TokenCipher, hash_token, load_or_create_secret
from refgen.worker.groups import WorkerGroup
from refgen.worker.reaper import Reaper

log = logging.getLogger("refgen")


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
    speaking: frozenset[Route]  # the routes whose backend can speak (audio: true)
    workers: WorkerGroup | None = None
    reaper: Reaper | None = None
    callbacks: CallbackDispatcher | None = None
    retention: RetentionSweeper | None = None  # None when REFGEN_RETENTION_DAYS is 0
    metrics: Metrics = field(default_factory=Metrics)
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def served_models(self, kind: TaskKind) -> frozenset[str]:
        return served_models(self.routes, kind)

    def speaking_models(self, kind: TaskKind) -> frozenset[str]:
        return served_models(self.speaking, kind)

    def workers_alive(self) -> int:
        """This server's own workers when it has some, else the registered workers seen within a lease."""
        if self.workers is not None:
            return self.workers.alive()
        now = utcnow()
        return sum(w.alive(now, self.settings.lease_seconds) for w in self.store.workers.list_workers())

    def services(self) -> list[Service]:
        """What runs in the background, in starting order; they stop in the reverse order, so
        workers stop (handing back what they cannot finish) before the reaper and the dispatcher."""
        candidates: list[Service | None] = [self.callbacks, self.reaper, self.retention, self.workers]
        return [service for service in candidates if service is not None]

    def start(self) -> None:
        started: list[Service] = []
        try:
            for service in self.services():
                service.start()
                started.append(service)
        except BaseException:
            for service in reversed(started):
                service.stop()
            raise

    def stop(self) -> None:
        for service in reversed(self.services()):
            service.stop()
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
    speaks: Callable[[Route], bool] | None = None,
    metrics: Metrics | None = None,
) -> Runtime:
    """Assemble the server. Without ``workers``, ``settings.workers`` child processes are started
    (when ``process_workers``); pass a :class:`~refgen.worker.groups.ThreadWorkers` in tests.
    Without ``callbacks``, a dispatcher sends callbacks through the outbound guard. ``speaks``
    says which routes can make speech; by default each route's backend answers (tests whose
    workers run a fake backend pass what it can do). ``metrics`` is the registry ``/metrics``
    serves (tests pass the one their thread workers count into); worker processes count into
    files the registry adds up (:mod:`refgen.metrics.exposition`)."""
    routes = model_routes(settings.model_map, models_dir=settings.resolved_models_dir)
    speaking = (
        speaking_routes(routes) if speaks is None else frozenset(route for route in routes if speaks(route))
    )
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

        if metrics is None:
            metrics = Metrics(with_tasks=False)  # the processes count their runs
        counts = fresh_multiprocess_dir(settings.data_dir)
        add_worker_processes(metrics.registry, counts)
        workers = ProcessWorkers(
            settings.workers,
            worker_process_main,
            (settings.model_dump(), str(counts)),
            store.queue,
            max_attempts=settings.max_attempts,
        )
    group = workers
    if metrics is None:
        metrics = Metrics(with_tasks=workers is not None)

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
        speaking_models=lambda kind: served_models(speaking, kind),
        on_queued=on_queued,
        catalogue=catalogue,
        queue_limits=QueueLimits(total=settings.max_queued_tasks, per_key=settings.max_queued_per_key),
    )
    signer = FileUrlSigner(cipher, settings.resolved_public_url)
    reaper = Reaper(
        store.queue,
        max_attempts=settings.max_attempts,
        off_peak_expiry_seconds=settings.off_peak_expiry_seconds,
        worker_timeout=settings.lease_seconds,
    )
    retention = None
    if settings.retention_days > 0:
        retention = RetentionSweeper(store.retention, files, days=settings.retention_days)
    links = FileLinks(files, signer)
    if callbacks is None:
        from refgen.contract.responses import generation_body
        from refgen.outbound import AddressPolicy, GuardedClient

        policy = AddressPolicy(settings.allow_networks)
        callbacks = CallbackDispatcher(
            store,
            decrypt=cipher.decrypt,
            render=partial(generation_body, links=links),
            transport=lambda: GuardedClient(policy, user_agent="refgen-callbacks"),
            retry_delays=settings.callback_retry_delays,
            metrics=metrics.callbacks,
        )
    metrics.registry.register(
        QueueCollector(store.tasks, routes, lambda: runtime.workers_alive()),
    )
    runtime = Runtime(
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
        speaking=speaking,
        workers=workers,
        reaper=reaper,
        callbacks=callbacks,
        retention=retention,
        metrics=metrics,
        on_close=on_close,
    )
    return runtime
