"""The shared resources a refgen process opens from settings: the database and the file store.

Both the API server (:mod:`refgen.runtime`) and a worker (:mod:`refgen.worker.assembly`) open
their store and files here, so this module sits below both of them: it imports settings, the
store and the file stores, never the server or the worker.

:func:`scale_out_problems` says why a configuration cannot be shared across machines: it reads
the same two settings these functions open.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine

from refgen.files.base import FileStore
from refgen.files.local import LocalFileStore
from refgen.settings import Settings
from refgen.store.base import CallbackOutbox, KeyStore, TaskQueue, TaskRetention, TaskStore, WorkerRegistry


class ServerStore(Protocol):
    """The whole store, one part per concern (a worker gets only ``queue``, the authenticator
    only ``keys``, ...), and a health check."""

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

    @property
    def retention(self) -> TaskRetention: ...

    def ping(self) -> bool: ...


def open_engine(settings: Settings, *, migrate: bool = True) -> Engine:
    """The database engine from settings, migrated to the newest schema unless told otherwise; the
    data folder and a SQLite file are made (or kept) the owner's only first."""
    from refgen.data_folder import secure_data_dir
    from refgen.store.engine import make_engine
    from refgen.store.migrate import upgrade

    secure_data_dir(settings)
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    return engine


def open_store(settings: Settings, *, migrate: bool = True, engine: Engine | None = None) -> ServerStore:
    """The SQL store on ``engine`` (default: a new one from :func:`open_engine`)."""
    from refgen.store.sql import SqlStore

    return SqlStore(engine if engine is not None else open_engine(settings, migrate=migrate))


def open_files(settings: Settings) -> FileStore:
    """The file store: an S3 bucket for ``s3://`` storage URLs, else a folder on this machine."""
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
