"""What routes depend on: each part of the server a route touches, as a small FastAPI dependency.

Each dependency is ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool, a
thread hop per dependency per request for what is only an attribute read.

A route's signature names exactly the parts it uses (the task service, the links, the catalogue,
the file access…) instead of the whole :class:`~refgen.runtime.Runtime`. Every part is read from the
runtime ``create_app`` stores on ``app.state``; the store is reached from this module only, through
:class:`TaskLister` and :class:`Readiness`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from refgen.clock import utcnow
from refgen.contract.catalogue import Catalogue, catalogue_as_json
from refgen.domain import ApiKey, Task, TaskKind
from refgen.errors import Unauthorized
from refgen.files.base import FileStore
from refgen.files.urls import FileUrlSigner, LinkMaker
from refgen.http.generation_reads import GenerationReads
from refgen.http.key_cache import KeyCache
from refgen.http.page_tokens import PageTokens
from refgen.runtime import Runtime
from refgen.service import Authenticator, TaskService
from refgen.store.base import TaskStore
from refgen.task_query import KeyUsage, TaskQuery


def _runtime(request: Request) -> Runtime:
    value = request.app.state.runtime
    assert isinstance(value, Runtime)
    return value


async def task_service(request: Request) -> TaskService:
    return _runtime(request).service


async def file_links(request: Request) -> LinkMaker:
    return _runtime(request).links


async def authenticator(request: Request) -> Authenticator:
    return _runtime(request).authenticator


def key_cache(request: Request) -> KeyCache:
    value = request.app.state.key_cache
    assert isinstance(value, KeyCache)
    return value


def generation_reads(request: Request) -> GenerationReads:
    """Called by the route itself, not as a dependency: each dependency FastAPI solves costs about
    as much as the whole cached read."""
    value = request.app.state.generation_reads
    assert isinstance(value, GenerationReads)
    return value


@dataclass(frozen=True)
class ServedCatalogue:
    """The catalogue with what this deployment serves (``GET /ent/v2/models``): each model's
    ``served``, and ``speaks`` (whether its backend here can make ``audio: true``)."""

    catalogue: Catalogue
    served_models: Callable[[TaskKind], frozenset[str]]
    speaking_models: Callable[[TaskKind], frozenset[str]]

    def as_json(self) -> dict[str, Any]:
        catalogue = catalogue_as_json(self.catalogue)
        for kind in TaskKind:
            served = self.served_models(kind)
            speaking = self.speaking_models(kind)
            entries = catalogue[kind.value]
            assert isinstance(entries, dict)
            for name, entry in entries.items():
                entry["served"] = name in served
                entry["speaks"] = name in served and name in speaking
        return catalogue


async def served_catalogue(request: Request) -> ServedCatalogue:
    rt = _runtime(request)
    return ServedCatalogue(rt.catalogue, rt.served_models, rt.speaking_models)


@dataclass(frozen=True)
class FileAccess:
    """Signed ``/files/...`` links: check the signature, find the local file."""

    signer: FileUrlSigner
    files: FileStore

    def verify(self, key: str, expires: str, signature: str) -> bool:
        return self.signer.verify(key, expires, signature)

    def local_path(self, key: str) -> Path | None:
        return self.files.local_path(key)


async def file_access(request: Request) -> FileAccess:
    rt = _runtime(request)
    return FileAccess(rt.signer, rt.files)


@dataclass(frozen=True)
class TaskLister:
    """A key's own tasks a page at a time, its usage, the page tokens and the clock of the default
    time window."""

    store: TaskStore
    tokens: PageTokens
    clock: Callable[[], datetime] = utcnow

    async def page(self, query: TaskQuery) -> Sequence[Task]:
        return await anyio.to_thread.run_sync(self.store.query_tasks, query)

    async def usage(self, key_id: str) -> KeyUsage:
        return await anyio.to_thread.run_sync(self.store.key_usage, key_id)


async def task_lister(request: Request) -> TaskLister:
    rt = _runtime(request)
    return TaskLister(rt.store.tasks, PageTokens(rt.cipher))


@dataclass(frozen=True)
class Readiness:
    """Whether the database answers and how many workers are alive."""

    ping: Callable[[], bool]
    workers_alive: Callable[[], int]

    async def database(self) -> bool:
        return await anyio.to_thread.run_sync(self.ping)

    async def workers(self) -> int:
        return await anyio.to_thread.run_sync(self.workers_alive)


async def readiness(request: Request) -> Readiness:
    rt = _runtime(request)
    return Readiness(rt.store.ping, rt.workers_alive)


ServiceDep = Annotated[TaskService, Depends(task_service)]
LinksDep = Annotated[LinkMaker, Depends(file_links)]
CatalogueDep = Annotated[ServedCatalogue, Depends(served_catalogue)]
FilesDep = Annotated[FileAccess, Depends(file_access)]
TaskListerDep = Annotated[TaskLister, Depends(task_lister)]
ReadinessDep = Annotated[Readiness, Depends(readiness)]
AuthenticatorDep = Annotated[Authenticator, Depends(authenticator)]

AUTHORIZATION = APIKeyHeader(
    name="Authorization",
    scheme_name="Token",
    description="`Token <key>` (or `Bearer <key>`); keys are made with `refgen keys create`.",
    auto_error=False,
)


def _token(authorization: str | None) -> str:
    header = (authorization or "").strip()
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token.strip():
        raise Unauthorized("missing API key: send 'Authorization: Token <key>'")
    return token.strip()


async def api_key(
    keys: AuthenticatorDep, authorization: Annotated[str | None, Security(AUTHORIZATION)]
) -> ApiKey:
    """The caller's key, looked up now (cancels, the balance)."""
    key = await anyio.to_thread.run_sync(keys.key_for, _token(authorization))
    if key is None:
        raise Unauthorized("invalid API key")
    return key


async def cached_api_key(request: Request) -> ApiKey:
    """The caller's key as looked up within the last few seconds (see ``key_cache``), for status
    reads and creates (a create checks again that the key is not revoked, in its insert).

    It reads the header itself rather than through ``Security(AUTHORIZATION)`` (one dependency less
    to solve on the hottest routes); routes that use it declare :data:`CACHED_KEY_SECURITY`."""
    authorization = request.headers.get("authorization")
    key = await key_cache(request).key_for(_token(authorization))
    if key is None:
        raise Unauthorized("invalid API key")
    return key


KeyDep = Annotated[ApiKey, Depends(api_key)]
CACHED_KEY_SECURITY: dict[str, Any] = {"security": [{AUTHORIZATION.scheme_name: []}]}
"""``openapi_extra`` of a route that takes :data:`CachedKeyDep`: the same security as ``KeyDep``'s."""
CachedKeyDep = Annotated[ApiKey, Depends(cached_api_key)]
