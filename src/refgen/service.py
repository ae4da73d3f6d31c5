"""What the API does, without HTTP: create, read and cancel tasks for an API key.

Pure Python over the plug points (store, files, image fetcher); no FastAPI, no SQL, no torch.
A refused request leaves nothing behind: every check runs before the first file is written, and the
files are removed again if the task row cannot be inserted (credits short, or the queue limits reached:
the store checks those in the insert's transaction).

A create with an ``Idempotency-Key`` is looked up first (a retry costs no image fetch); the store
records the key in the task's own transaction, so of concurrent duplicates one task is stored and
the others answer it (:mod:`refgen.idempotency` says what counts as the same request).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

import anyio.to_thread

from refgen.clock import utcnow
from refgen.contract.catalogue import CATALOGUE, Catalogue
from refgen.contract.fields import is_data_url
from refgen.contract.requests import PICTURE_RATIO, CreateRequest, parse_create, random_seed
from refgen.contract.sizes import auto_size, frames_match, reduced_ratio
from refgen.domain import ApiKey, Task, TaskKind, TaskSpec, TaskState
from refgen.errors import PageSizeOutOfRange, TaskNotFound
from refgen.files.base import FileStore
from refgen.idempotency import check_key, request_hash
from refgen.media.images import ImageInfo, inspect_image, parse_data_url
from refgen.store.base import IdempotentCreate, KeyStore, QueueLimits, TaskStore


class ImageFetcher(Protocol):
    async def check_url(self, url: str, field: str) -> None:
        """Refuse (AddressForbidden / FieldInvalid) a URL the server must never contact."""

    async def fetch(self, urls: Sequence[tuple[str, str]]) -> list[bytes]:
        """Fetch ``(field, url)`` pairs in parallel; raise a RequestError naming the field."""


@dataclass(frozen=True)
class Reference:
    field: str
    data: bytes
    info: ImageInfo


def new_task_id() -> str:
    return uuid.uuid4().hex


class TaskService:
    def __init__(
        self,
        store: TaskStore,
        files: FileStore,
        fetcher: ImageFetcher,
        *,
        served_models: Callable[[TaskKind], Collection[str]],
        speaking_models: Callable[[TaskKind], Collection[str]] | None = None,
        clock: Callable[[], datetime] = utcnow,
        ids: Callable[[], str] = new_task_id,
        seeds: Callable[[], int] = random_seed,
        on_queued: Callable[[], None] = lambda: None,
        catalogue: Catalogue = CATALOGUE,
        queue_limits: QueueLimits | None = None,
    ) -> None:
        self._store = store
        self._files = files
        self._fetcher = fetcher
        self._served = served_models
        self._speaking = speaking_models
        self._clock = clock
        self._ids = ids
        self._seeds = seeds
        self._on_queued = on_queued
        self._catalogue = catalogue
        self._queue_limits = queue_limits

    async def create(
        self, key: ApiKey, kind: TaskKind, body: object, idempotency_key: str | None = None
    ) -> tuple[Task, CreateRequest]:
        """Check, store and queue a task; returns it with the request as parsed.

        With ``idempotency_key``, a key this API key used in the last 24 hours for the same request
        (endpoint and body, :func:`refgen.idempotency.request_hash`) answers that task as it was
        created, and nothing new is stored; for another request it raises IdempotencyConflict.
        """
        idempotency = None
        if idempotency_key is not None:
            key_value = check_key(idempotency_key)
            idempotency = IdempotentCreate(key_value, request_hash(kind, body), self._clock())
            earlier = await anyio.to_thread.run_sync(self._store.find_idempotent, key.id, idempotency)
            if earlier is not None:
                return await anyio.to_thread.run_sync(self._as_created, earlier, kind, body)
        request = self._parse(kind, body)
        if request.spec.callback_url:
            await self._fetcher.check_url(request.spec.callback_url, "callback_url")
        sources = [(request.field_of(i), image) for i, image in enumerate(request.images)]
        if request.wm_url is not None:
            sources.append(("wm_url", request.wm_url))
        blobs = await self._gather(sources)
        task, stored = await anyio.to_thread.run_sync(
            self._store_task, key, request, sources, blobs, idempotency
        )
        if stored != task.id:  # a concurrent create with the same key won
            return await anyio.to_thread.run_sync(self._as_created, stored, kind, body)
        return task, request

    async def _gather(self, sources: Sequence[tuple[str, str]]) -> dict[str, bytes]:
        """Each picture's bytes by field: data URLs decoded, URLs fetched (all at once)."""
        blobs: dict[str, bytes] = {}
        remote: list[tuple[str, str]] = []
        for field, source in sources:
            if source[:5].lower() == "data:":
                blobs[field] = parse_data_url(source, field)
            else:
                remote.append((field, source.strip()))
        if remote:
            for (field, _), data in zip(remote, await self._fetcher.fetch(remote), strict=True):
                blobs[field] = data
        return blobs

    def _store_task(
        self,
        key: ApiKey,
        request: CreateRequest,
        sources: Sequence[tuple[str, str]],
        blobs: dict[str, bytes],
        idempotency: IdempotentCreate | None,
    ) -> tuple[Task, str]:
        """The blocking half of a create, in one trip to a thread: inspect the pictures, frame the
        spec, write the files and insert the row. Returns the task and the id of the task stored:
        another one's when a concurrent create with the same Idempotency-Key won."""
        references = [
            Reference(field, blobs[field], inspect_image(blobs[field], field)) for field, _ in sources
        ]
        watermark = references.pop() if request.wm_url is not None else None
        spec = _framed(request, references)
        task_id = self._ids()
        task = Task(
            id=task_id,
            key_id=key.id,
            spec=spec,
            reference_keys=[f"tasks/{task_id}/refs/{i}.{r.info.extension}" for i, r in enumerate(references)],
            watermark_key=f"tasks/{task_id}/wm.{watermark.info.extension}" if watermark else None,
            state=TaskState.CREATED,
            created_at=self._clock(),
            # as the task list shows each reference: the URL as sent, "" for a data URL (not repeated)
            image_sources=["" if is_data_url(image) else image.strip() for image in request.images],
        )
        stored = self._persist(task, references, watermark, idempotency)
        return task, stored

    def _parse(self, kind: TaskKind, body: object) -> CreateRequest:
        return parse_create(
            kind,
            body,
            served_models=self._served(kind),
            speaking_models=self._speaking(kind) if self._speaking is not None else None,
            seed_source=self._seeds,
            catalogue=self._catalogue,
        )

    def _as_created(self, task_id: str, kind: TaskKind, body: object) -> tuple[Task, CreateRequest]:
        """An earlier task of an idempotent create, as its create answered it (state ``created``);
        the body is the one that created it (its hash matched), parsed again for the images as sent."""
        task = self._store.get_task(task_id)
        if task is None:  # deleted since it was found; its key went with it
            raise TaskNotFound(f"task not found: {task_id}")
        return replace(task, state=TaskState.CREATED), self._parse(kind, body)

    def _persist(
        self,
        task: Task,
        references: list[Reference],
        watermark: Reference | None,
        idempotency: IdempotentCreate | None,
    ) -> str:
        """Write the files and insert the task; the id of the task the store kept (another one when
        a concurrent create with the same Idempotency-Key won: this task's files are removed)."""
        prefix = f"tasks/{task.id}/"
        try:
            for key, ref in zip(task.reference_keys, references, strict=True):
                self._files.put_bytes(key, ref.data, ref.info.content_type)
            if watermark is not None and task.watermark_key is not None:
                self._files.put_bytes(task.watermark_key, watermark.data, watermark.info.content_type)
            stored = self._store.insert_task(task, self._queue_limits, idempotency)
        except BaseException:
            self._files.delete_prefix(prefix)
            raise
        if stored != task.id:
            self._files.delete_prefix(prefix)
            return stored
        self._store.mark_queueing(task.id)
        self._on_queued()
        return stored

    def get(self, key: ApiKey, task_id: str) -> Task:
        task = self._store.get_task(task_id)
        if task is None or task.key_id != key.id:
            raise TaskNotFound(f"task not found: {task_id}")
        return task

    def cancel(self, key: ApiKey, task_id: str) -> Task:
        self.get(key, task_id)
        return self._store.request_cancel(task_id, self._clock())


def _framed(request: CreateRequest, references: Sequence[Reference]) -> TaskSpec:
    """The spec once the pictures' sizes are known: a start and an end frame must have close ratios
    (else ``PageSizeOutOfRange`` naming the end frame), and a task whose frame follows its picture
    records that frame's reduced ratio (a 1280×720 picture: ``16:9``)."""
    spec = request.spec
    if spec.kind is TaskKind.START_END_TO_VIDEO:
        start, end = references[0].info, references[1].info
        if not frames_match((start.width, start.height), (end.width, end.height)):
            field = references[1].field
            raise PageSizeOutOfRange(
                f"image size or aspect ratio out of range: {field} (the start frame's {start.width}x"
                f"{start.height} and the end frame's {end.width}x{end.height} must have aspect ratios "
                "within 0.8 to 1.25 of each other)",
                field=field,
            )
    if spec.aspect_ratio == PICTURE_RATIO and spec.kind.makes_video and references:
        first = references[0].info
        return replace(
            spec, aspect_ratio=reduced_ratio(*auto_size(spec.resolution, first.width, first.height))
        )
    return spec


class Authenticator:
    """Finds the API key for a bearer of a token."""

    def __init__(self, keys: KeyStore, hash_token: Callable[[str], str]) -> None:
        self._keys = keys
        self._hash = hash_token

    def key_for(self, token: str) -> ApiKey | None:
        return self._keys.key_by_hash(self._hash(token)) if token else None
