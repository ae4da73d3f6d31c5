"""``AsyncClient``: the SDK for asyncio (and trio), for waiting on many tasks at once."""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, Unpack

import anyio
import anyio.to_thread
import httpx

from refgen.client.base import (
    RETRY_STATUSES,
    BaseClient,
    CreationFile,
    M,
    PollSchedule,
    QueryParams,
    TaskFilters,
    TaskRef,
    TimeoutTypes,
    idempotency_headers,
    list_params,
    retry_delay,
    task_id_of,
    without_none,
)
from refgen.client.bodies import (
    FramesVideoOptions,
    ReferenceVideoOptions,
    Subject,
    TextVideoOptions,
    create_body,
    reference_fields,
)
from refgen.client.config import DEFAULT_MAX_RETRIES, DEFAULT_RETRY_BACKOFF, DEFAULT_TIMEOUT
from refgen.client.errors import (
    APIConnectionError,
    TaskFailedError,
    WaitTimeoutError,
    error_from_response,
    error_from_transport,
)
from refgen.client.images import ImageInput, encode_images
from refgen.client.models import (
    Credits,
    FramesVideoTask,
    Generation,
    ImageTask,
    TaskPage,
    TextVideoTask,
    VideoTask,
)

AsyncProgressCallback = Callable[[Generation], Awaitable[object] | object]
AsyncDownloadCallback = Callable[[int, int | None], Awaitable[object] | object]


async def _call(callback: Callable[..., Any], *args: Any) -> None:
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


class AsyncClient(BaseClient):
    """The asynchronous twin of ``Client``: the same methods, awaited.

    ::

        async with AsyncClient() as client:
            tasks = [await client.reference2video(model="vidu2.0", images=[p], prompt="…") for p in pics]
            done = await asyncio.gather(*(client.wait(t) for t in tasks))

    Local images are read and encoded in a worker thread, so the event loop keeps running.
    ``on_progress`` callbacks may be plain functions or coroutine functions.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(api_key, base_url, timeout, max_retries, retry_backoff, headers)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers=self._headers,
            follow_redirects=True,
        )
        self._sleep: Callable[[float], Awaitable[None]] = anyio.sleep

    # -- lifecycle --------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool (and the transport)."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the contract -----------------------------------------------------------------------------

    async def reference2video(
        self,
        *,
        model: str,
        prompt: str,
        images: Iterable[ImageInput] | None = None,
        subjects: Iterable[Subject] | None = None,
        **options: Unpack[ReferenceVideoOptions],
    ) -> VideoTask:
        """Create a reference-to-video task; see ``Client.reference2video``."""
        fields = {"model": model, "prompt": prompt, **reference_fields(images, subjects), **options}
        return await self._create("/reference2video", fields, VideoTask)

    async def text2video(
        self, *, model: str, prompt: str, **options: Unpack[TextVideoOptions]
    ) -> TextVideoTask:
        """Create a text-to-video task; see ``Client.text2video``."""
        return await self._create("/text2video", {"model": model, "prompt": prompt, **options}, TextVideoTask)

    async def img2video(
        self,
        *,
        model: str,
        image: ImageInput,
        prompt: str | None = None,
        **options: Unpack[FramesVideoOptions],
    ) -> FramesVideoTask:
        """Create an image-to-video task; see ``Client.img2video``."""
        fields = {"model": model, "images": [image], "prompt": prompt, **options}
        return await self._create("/img2video", fields, FramesVideoTask)

    async def start_end2video(
        self,
        *,
        model: str,
        start: ImageInput,
        end: ImageInput,
        prompt: str | None = None,
        **options: Unpack[FramesVideoOptions],
    ) -> FramesVideoTask:
        """Create a start-end-to-video task; see ``Client.start_end2video``."""
        fields = {"model": model, "images": [start, end], "prompt": prompt, **options}
        return await self._create("/start-end2video", fields, FramesVideoTask)

    async def reference2image(
        self,
        *,
        model: str,
        prompt: str,
        images: Iterable[ImageInput] = (),
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        seed: int | None = None,
        payload: str | None = None,
        callback_url: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> ImageTask:
        """Create a reference-to-image task; see ``Client.reference2image``."""
        encoded = await anyio.to_thread.run_sync(encode_images, images)
        body = without_none(
            {
                "model": model,
                "images": encoded,
                "prompt": prompt,
                "aspect_ratio": aspect_ratio,
                "resolution": resolution,
                "seed": seed,
                "payload": payload,
                "callback_url": callback_url,
            },
            extra_body,
        )
        return await self._post_create("/reference2image", body, ImageTask, idempotency_key)

    async def get(self, task: TaskRef) -> Generation:
        """The task's state, progress and (once it succeeded) creations."""
        response = await self._request("GET", f"/tasks/{task_id_of(task)}/creations")
        return self._parse(response, Generation)

    async def cancel(self, task: TaskRef) -> None:
        """Cancel a task that has not ended; it ends ``failed`` with ``err_code`` ``UserCancelled``."""
        task_id = task_id_of(task)
        self._check(await self._request("POST", f"/tasks/{task_id}/cancel", json={"id": task_id}))

    async def list_tasks(self, **filters: Unpack[TaskFilters]) -> TaskPage:
        """Your tasks, newest first (``GET /ent/v2/tasks``), filtered by ``task_ids``, ``states``,
        ``model_versions`` (``q1`` or ``viduq1``), ``resolutions``, ``created_from``/``created_to``
        (an aware datetime, an RFC 3339 string or Unix seconds; without ``task_ids`` the server
        lists the last 7 days by default). Page with ``page`` (from 0) and ``page_size``, or pass
        the previous page's ``next_page_token`` as ``page_token`` with the same filters."""
        return self._parse(await self._request("GET", "/tasks", params=list_params(**filters)), TaskPage)

    async def credits(self, *, show_detail: bool = False) -> Credits:
        """Your balance and load (``GET /ent/v2/credits``); ``show_detail`` adds the packages."""
        params = (("show_detail", "true" if show_detail else "false"),)
        return self._parse(await self._request("GET", "/credits", params=params), Credits)

    # -- conveniences -----------------------------------------------------------------------------

    async def wait(
        self,
        task: TaskRef,
        *,
        timeout: float | None = 600.0,
        on_progress: AsyncProgressCallback | None = None,
        interval: float = 0.5,
        max_interval: float = 5.0,
        raise_on_failure: bool = True,
    ) -> Generation:
        """Poll until the task ends; see ``Client.wait``."""
        task_id = task_id_of(task)
        started = time.monotonic()
        schedule = PollSchedule(interval, max_interval)
        while True:
            generation = await self.get(task_id)
            if on_progress is not None:
                await _call(on_progress, generation)
            if generation.done:
                if generation.failed and raise_on_failure:
                    raise TaskFailedError(generation)
                return generation
            delay = schedule.next_delay(generation)
            if timeout is not None:
                remaining = timeout - (time.monotonic() - started)
                if remaining <= 0:
                    raise WaitTimeoutError(generation, timeout)
                delay = min(delay, remaining)
            await self._sleep(delay)

    async def download(
        self,
        task: TaskRef,
        path: str | os.PathLike[str],
        *,
        index: int = 0,
        which: CreationFile = "url",
        on_progress: AsyncDownloadCallback | None = None,
        chunk_size: int = 1 << 16,
    ) -> Path:
        """Stream a finished task's creation to ``path``; see ``Client.download``."""
        generation = task if isinstance(task, Generation) else await self.get(task)
        creation, url = self._creation(generation, index, which)
        target = self._target(path, url, creation)
        partial = target.with_name(target.name + ".part")
        try:
            async with self._stream(url) as response:
                length = response.headers.get("content-length")
                total = int(length) if length is not None else None
                received = 0
                async with await anyio.open_file(partial, "wb") as out:
                    try:
                        async for chunk in response.aiter_bytes(chunk_size):
                            await out.write(chunk)
                            received += len(chunk)
                            if on_progress is not None:
                                await _call(on_progress, received, total)
                    except httpx.TransportError as exc:
                        raise error_from_transport(exc, response.request) from exc
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    # -- sending ----------------------------------------------------------------------------------

    async def _create(self, path: str, fields: Mapping[str, Any], model: type[M]) -> M:
        body = await anyio.to_thread.run_sync(create_body, fields)
        return await self._post_create(path, body, model, fields.get("idempotency_key"))

    async def _post_create(self, path: str, body: Any, model: type[M], idempotency_key: str | None) -> M:
        """POST a create with its ``Idempotency-Key``, retried like a GET (see ``Client._post_create``)."""
        headers = idempotency_headers(idempotency_key)
        return self._parse(await self._request("POST", path, json=body, headers=headers), model)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        request = self._http.build_request(
            method,
            self._api_url(path),
            json=json,
            params=params,
            headers={**self._auth_headers(), **(headers or {})},
        )
        return await self._send(request)

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.UnsupportedProtocol as exc:
                raise APIConnectionError(str(exc), reason="ConnectionError") from exc
            except httpx.TransportError as exc:
                if not self._should_retry(request, attempt):
                    raise error_from_transport(exc, request) from exc
                await self._sleep(retry_delay(attempt, self.retry_backoff))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and self._should_retry(request, attempt):
                await response.aclose()
                await self._sleep(
                    retry_delay(attempt, self.retry_backoff, response.headers.get("retry-after"))
                )
                attempt += 1
                continue
            return response

    @asynccontextmanager
    async def _stream(self, url: str) -> AsyncIterator[httpx.Response]:
        """A streamed GET of a file URL, without the API key (see ``Client._stream``)."""
        response = await self._send(self._http.build_request("GET", url), stream=True)
        try:
            if response.status_code >= 400:
                await response.aread()
                raise error_from_response(response)
            yield response
        finally:
            await response.aclose()
