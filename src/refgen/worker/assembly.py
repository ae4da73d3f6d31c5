"""One worker assembled from settings: its store, files, backends, registration and wake-ups.

``refgen worker`` (a worker on its own, scaled out) and the worker processes ``refgen serve``
spawns both build their worker here, so the two cannot drift apart: the same backends are built
from the same model map, the same registration renews at the same pace, and :meth:`AssembledWorker.close`
closes every backend once, however many routes share it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from refgen.backends.base import GenerationBackend
from refgen.backends.registry import ModelMapError, ModelRoute, build_backends, model_routes
from refgen.clock import utcnow
from refgen.domain import Route
from refgen.files.base import FileStore
from refgen.resources import ServerStore, open_engine, open_files, open_store
from refgen.settings import Settings
from refgen.store.notify import TaskListener
from refgen.worker.loop import Signal, Worker, WorkerTiming
from refgen.worker.presence import WorkerPresence

if TYPE_CHECKING:  # the caller builds them, after choosing how this process counts
    from refgen.metrics.families import TaskMetrics

BackendBuilder = Callable[[Mapping[Route, ModelRoute]], Mapping[Route, GenerationBackend]]
"""Builds and loads the backends for some routes; :func:`~refgen.backends.registry.build_backends`."""


class UnservedModels(ModelMapError):
    """The worker was asked for models the model map does not serve."""

    def __init__(self, models: Collection[str]) -> None:
        self.models = sorted(models)
        super().__init__(f"the model map does not serve: {', '.join(self.models)}")


def select_routes(
    routes: Mapping[Route, ModelRoute], models: Collection[str] | None
) -> dict[Route, ModelRoute]:
    """The routes of ``models`` (public names); all of them when ``models`` is None."""
    if models is None:
        return dict(routes)
    unknown = set(models) - {model for _, model in routes}
    if unknown:
        raise UnservedModels(unknown)
    return {key: route for key, route in routes.items() if key[1] in models}


@dataclass
class AssembledWorker:
    """A worker and what it runs with; :meth:`run` it once, or :meth:`close` it unrun."""

    worker: Worker
    store: ServerStore
    files: FileStore
    backends: Mapping[Route, GenerationBackend]
    presence: WorkerPresence
    listener: TaskListener | None
    wake: Signal
    engine: Engine

    def run(self, stop: Signal) -> None:
        """Register, listen for wake-ups and run tasks until ``stop`` is set; then close."""
        if self.listener is not None:
            self.listener.start()
        try:
            with self.presence:
                self.worker.run(stop, self.wake)
        finally:
            if self.listener is not None:
                self.listener.stop()
            self.close()

    def close(self) -> None:
        """Close each backend once (routes may share one) and let go of the database."""
        for backend in {id(backend): backend for backend in self.backends.values()}.values():
            backend.close()
        self.engine.dispose()


def assemble_worker(
    settings: Settings,
    wake: Signal,
    *,
    models: Collection[str] | None = None,
    worker_id: str | None = None,
    migrate: bool = True,
    build: BackendBuilder = build_backends,
    metrics: TaskMetrics | None = None,
) -> AssembledWorker:
    """Build a worker from settings, serving ``models`` (default: every model in the map).

    ``wake`` is set when a task may be waiting (on PostgreSQL, by a ``LISTEN`` connection);
    ``migrate=False`` when the process that started this one has migrated the database already;
    the worker counts its runs into ``metrics`` when given.
    Raises :class:`UnservedModels` before opening anything if ``models`` names a model the map
    does not serve, and any :class:`~refgen.errors.RefgenError` opening the store or loading a backend.
    """
    routes = select_routes(model_routes(settings.model_map, models_dir=settings.resolved_models_dir), models)
    engine = open_engine(settings, migrate=migrate)
    try:
        store = open_store(settings, engine=engine)
        files = open_files(settings)
        backends = build(routes)
    except BaseException:
        engine.dispose()
        raise
    timing = WorkerTiming(lease_seconds=settings.lease_seconds, heartbeat_seconds=settings.heartbeat_seconds)
    worker = Worker(store.queue, files, backends, worker_id=worker_id, timing=timing, metrics=metrics)
    presence = WorkerPresence(
        store.workers, worker.worker_id, worker.models, interval=settings.heartbeat_seconds * 4, clock=utcnow
    )
    listener = None
    if TaskListener.wanted(settings.resolved_database_url):
        listener = TaskListener(settings.resolved_database_url, wake)
    return AssembledWorker(worker, store, files, backends, presence, listener, wake, engine)
