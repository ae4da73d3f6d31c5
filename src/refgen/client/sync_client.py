"""``Client``: the blocking SDK."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, Unpack

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

ProgressCallback = Callable[[Generation], object]
DownloadCallback = Callable[[int, int | None], object]


class Client(BaseClient):
    """A blocking client for refgen and the Vidu API.

    ::

        with Client() as client:  # REFGEN_BASE_URL / REFGEN_API_KEY, or VIDU_API_HOST / VIDU_API_KEY
            task = client.reference2video(model="vidu2.0", images=["cat.png"], prompt="a cat walks")
            client.wait(task)
            client.download(task, "cat.mp4")

    ``transport`` replaces httpx's network transport (tests pass an ``httpx.ASGITransport`` or
    ``httpx.MockTransport``); ``timeout`` is per request (seconds or an ``httpx.Timeout``).
    GET requests and creates are retried ``max_retries`` times on 429, 5xx and connection errors,
    with exponential backoff from ``retry_backoff`` seconds (or the server's ``Retry-After``). Each
    create carries an ``Idempotency-Key`` (a fresh UUID, or ``idempotency_key=``) that its retries
    repeat, so a retry after a lost answer gets the task already made, not a second one.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(api_key, base_url, timeout, max_retries, retry_backoff, headers)
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers=self._headers,
            follow_redirects=True,
        )
        self._sleep: Callable[[float], None] = time.sleep

    # -- lifecycle --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (and the transport)."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the contract -----------------------------------------------------------------------------

    def reference2video(
        self,
        *,
        model: str,
        prompt: str,
        images: Iterable[ImageInput] | None = None,
        subjects: Iterable[Subject] | None = None,
        **options: Unpack[ReferenceVideoOptions],
    ) -> VideoTask:
        """Create a reference-to-video task (``POST /ent/v2/reference2video``).

        ``images``: 1–7 references, each a URL, a local path, bytes or a PIL image; or, instead,
        ``subjects``: 1–7 :class:`Subject` (id, 1–3 pictures, optional ``voice_id``; 7 pictures in
        all) that the prompt names as ``@id``. Passing both raises ``ValueError``. Options
        (``duration``, ``resolution``, ``aspect_ratio``, ``movement_amplitude``, ``bgm``, ``audio``,
        ``voice_id``, ``seed``, ``off_peak``, ``watermark``, ``wm_position``, ``wm_url``,
        ``payload``, ``callback_url``, ``meta_data``) left out are not sent, so the server's
        defaults for the model apply. ``extra_body`` adds fields this SDK does not know.
        ``idempotency_key`` (default: a fresh UUID) is sent as the ``Idempotency-Key`` header and
        repeated by every retry; pass your own to retry safely across calls or processes.
        """
        fields = {"model": model, "prompt": prompt, **reference_fields(images, subjects), **options}
        return self._create("/reference2video", fields, VideoTask)

    def text2video(self, *, model: str, prompt: str, **options: Unpack[TextVideoOptions]) -> TextVideoTask:
        """Create a text-to-video task (``POST /ent/v2/text2video``): a video from the prompt alone.

        Options as ``reference2video``'s, plus ``style`` (``general`` or ``anime``); ``audio`` only
        where the model can speak (``viduq3-pro``, ``viduq3-turbo``).
        """
        return self._create("/text2video", {"model": model, "prompt": prompt, **options}, TextVideoTask)

    def img2video(
        self,
        *,
        model: str,
        image: ImageInput,
        prompt: str | None = None,
        **options: Unpack[FramesVideoOptions],
    ) -> FramesVideoTask:
        """Create an image-to-video task (``POST /ent/v2/img2video``): ``image`` is the first frame
        (a URL, a local path, bytes or a PIL image) and the video takes its aspect ratio.

        ``prompt`` may be left out; ``is_rec=True`` has the server write it from the picture.
        Options as ``reference2video``'s, without ``aspect_ratio``.
        """
        fields = {"model": model, "images": [image], "prompt": prompt, **options}
        return self._create("/img2video", fields, FramesVideoTask)

    def start_end2video(
        self,
        *,
        model: str,
        start: ImageInput,
        end: ImageInput,
        prompt: str | None = None,
        **options: Unpack[FramesVideoOptions],
    ) -> FramesVideoTask:
        """Create a start-end-to-video task (``POST /ent/v2/start-end2video``): a video from the
        ``start`` picture to the ``end`` picture (their aspect ratios within 0.8–1.25 of each other).

        Options as ``img2video``'s.
        """
        fields = {"model": model, "images": [start, end], "prompt": prompt, **options}
        return self._create("/start-end2video", fields, FramesVideoTask)

    def reference2image(
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
        """Create a reference-to-image task (``POST /ent/v2/reference2image``).

        ``images``: 0–7 references (``viduq2`` makes an image from the prompt alone), as for
        ``reference2video``; ``idempotency_key`` too.
        """
        body = without_none(
            {
                "model": model,
                "images": encode_images(images),
                "prompt": prompt,
                "aspect_ratio": aspect_ratio,
                "resolution": resolution,
                "seed": seed,
                "payload": payload,
                "callback_url": callback_url,
            },
            extra_body,
        )
        return self._post_create("/reference2image", body, ImageTask, idempotency_key)

    def get(self, task: TaskRef) -> Generation:
        """The task's state, progress and (once it succeeded) creations."""
        return self._parse(self._request("GET", f"/tasks/{task_id_of(task)}/creations"), Generation)

    def cancel(self, task: TaskRef) -> None:
        """Cancel a task that has not ended; it ends ``failed`` with ``err_code`` ``UserCancelled``."""
        task_id = task_id_of(task)
        self._check(self._request("POST", f"/tasks/{task_id}/cancel", json={"id": task_id}))

    def list_tasks(self, **filters: Unpack[TaskFilters]) -> TaskPage:
        """Your tasks, newest first (``GET /ent/v2/tasks``), filtered by ``task_ids``, ``states``,
        ``model_versions`` (``q1`` or ``viduq1``), ``resolutions``, ``created_from``/``created_to``
        (an aware datetime, an RFC 3339 string or Unix seconds; without ``task_ids`` the server
        lists the last 7 days by default). Page with ``page`` (from 0) and ``page_size``, or pass
        the previous page's ``next_page_token`` as ``page_token`` with the same filters."""
        return self._parse(self._request("GET", "/tasks", params=list_params(**filters)), TaskPage)

    def credits(self, *, show_detail: bool = False) -> Credits:
        """Your balance and load (``GET /ent/v2/credits``); ``show_detail`` adds the packages."""
        params = (("show_detail", "true" if show_detail else "false"),)
        return self._parse(self._request("GET", "/credits", params=params), Credits)

    # -- conveniences -----------------------------------------------------------------------------

    def wait(
        self,
        task: TaskRef,
        *,
        timeout: float | None = 600.0,
        on_progress: ProgressCallback | None = None,
        interval: float = 0.5,
        max_interval: float = 5.0,
        raise_on_failure: bool = True,
    ) -> Generation:
        """Poll until the task ends and return its final state.

        Polls after ``interval`` seconds, backing off to ``max_interval`` while nothing changes.
        ``on_progress(generation)`` is called after every poll. Raises ``TaskFailedError`` if the
        task failed (unless ``raise_on_failure`` is false) and ``WaitTimeoutError`` after
        ``timeout`` seconds (``None``: wait for ever); the task keeps running on the server.
        """
        task_id = task_id_of(task)
        started = time.monotonic()
        schedule = PollSchedule(interval, max_interval)
        while True:
            generation = self.get(task_id)
            if on_progress is not None:
                on_progress(generation)
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
            self._sleep(delay)

    def download(
        self,
        task: TaskRef,
        path: str | os.PathLike[str],
        *,
        index: int = 0,
        which: CreationFile = "url",
        on_progress: DownloadCallback | None = None,
        chunk_size: int = 1 << 16,
    ) -> Path:
        """Stream a finished task's creation to ``path`` and return where it was saved.

        ``task`` may be an id (its state is fetched) or a ``Generation`` (its URLs are used; they
        expire). ``which`` picks the file: ``url`` (the video or image), ``cover_url`` or
        ``watermarked_url``. If ``path`` is a folder the file keeps its name from the URL. The file
        is written beside the target and renamed into place when complete.
        ``on_progress(bytes_so_far, total_or_None)`` is called per chunk.
        """
        generation = task if isinstance(task, Generation) else self.get(task)
        creation, url = self._creation(generation, index, which)
        target = self._target(path, url, creation)
        partial = target.with_name(target.name + ".part")
        try:
            with self._stream(url) as response:
                total = (
                    int(response.headers["content-length"]) if "content-length" in response.headers else None
                )
                received = 0
                with partial.open("wb") as out:
                    try:
                        for chunk in response.iter_bytes(chunk_size):
                            out.write(chunk)
                            received += len(chunk)
                            if on_progress is not None:
                                on_progress(received, total)
                    except httpx.TransportError as exc:
                        raise error_from_transport(exc, response.request) from exc
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    # -- sending ----------------------------------------------------------------------------------

    def _create(self, path: str, fields: Mapping[str, Any], model: type[M]) -> M:
        return self._post_create(path, create_body(fields), model, fields.get("idempotency_key"))

    def _post_create(self, path: str, body: Any, model: type[M], idempotency_key: str | None) -> M:
        """POST a create with its ``Idempotency-Key`` (the caller's, else a fresh one): retried on
        connection errors, 429 and 5xx with the same key, so a retry never makes a second task."""
        headers = idempotency_headers(idempotency_key)
        return self._parse(self._request("POST", path, json=body, headers=headers), model)

    def _request(
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
        return self._send(request)

    def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.UnsupportedProtocol as exc:
                raise APIConnectionError(str(exc), reason="ConnectionError") from exc
            except httpx.TransportError as exc:
                if not self._should_retry(request, attempt):
                    raise error_from_transport(exc, request) from exc
                self._sleep(retry_delay(attempt, self.retry_backoff))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and self._should_retry(request, attempt):
                response.close()
                self._sleep(retry_delay(attempt, self.retry_backoff, response.headers.get("retry-after")))
                attempt += 1
                continue
            return response

    @contextmanager
    def _stream(self, url: str) -> Iterator[httpx.Response]:
        """A streamed GET of a file URL, without the API key: file links are signed, and on the
        original API they point at another host."""
        response = self._send(self._http.build_request("GET", url), stream=True)
        try:
            if response.status_code >= 400:
                response.read()
                raise error_from_response(response)
            yield response
        finally:
            response.close()
