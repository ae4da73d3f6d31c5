"""What ``Client`` and ``AsyncClient`` share: configuration, request bodies, answers, retry timing.

Nothing here does I/O; the two clients differ only in how they send and sleep.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypedDict, TypeVar, Unpack
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from refgen.client.config import (
    API_KEY_VARIABLES,
    API_PREFIX,
    resolve_api_key,
    resolve_base_url,
)
from refgen.client.errors import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    TaskFailedError,
    error_from_response,
)
from refgen.client.models import CreatedTask, Creation, Generation

M = TypeVar("M", bound=BaseModel)

TaskRef = str | CreatedTask | Generation
"""A task id, or anything the SDK returned that names a task."""

CreationFile = Literal["url", "cover_url", "watermarked_url"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_RETRY_DELAY = 30.0

TimeoutTypes = float | None | httpx.Timeout

USER_AGENT = "refgen-python"


def task_id_of(task: TaskRef) -> str:
    if isinstance(task, CreatedTask):
        return task.task_id
    if isinstance(task, Generation):
        return task.id
    if isinstance(task, str) and task.strip():
        return task.strip()
    raise TypeError(f"expected a task id or a task, not {task!r}")


def without_none(fields: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request body: fields left as ``None`` are not sent, so the server applies its defaults."""
    body = {k: v for k, v in fields.items() if v is not None}
    body.update(extra or {})
    return body


QueryParams = tuple[tuple[str, str], ...]


def idempotency_headers(key: str | None) -> dict[str, str]:
    """A create's ``Idempotency-Key``: the caller's, else a fresh UUID. Every retry of the create
    sends the same one, so the server answers the task the first attempt made instead of a second."""
    return {IDEMPOTENCY_HEADER: str(uuid.uuid4()) if key is None else key}


def _time_param(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("pass a timezone-aware datetime")
        return value.isoformat()
    return str(value)


class TaskFilters(TypedDict, total=False):
    """What ``list_tasks`` takes: filters (they combine), a time window and a page."""

    task_ids: Iterable[str] | str
    states: Iterable[str] | str
    model_versions: Iterable[str] | str
    resolutions: Iterable[str] | str
    created_from: datetime | str | int | float
    """An aware datetime, an RFC 3339 string or Unix seconds (also ``created_to``)."""
    created_to: datetime | str | int | float
    page: int
    page_size: int
    page_token: str


_LIST_NAMES = ("task_ids", "states", "model_versions", "resolutions")  # the same in the query
_SCALAR_NAMES = {
    "created_from": "created_at.from",
    "created_to": "created_at.to",
    "page": "paper.page",
    "page_size": "paper.pagesz",
    "page_token": "pager.page_token",
}


def list_params(**filters: Unpack[TaskFilters]) -> QueryParams:
    """The query of ``GET /ent/v2/tasks``: lists as repeated keys, ``None`` and ``""`` not sent."""
    given: dict[str, Any] = {k: v for k, v in filters.items() if v is not None and v != ""}
    params: list[tuple[str, str]] = []
    for name in _LIST_NAMES:
        values = given.get(name, ())
        params += [(name, str(v)) for v in ([values] if isinstance(values, str) else values)]
    for name, query_name in _SCALAR_NAMES.items():
        if name in given:
            params.append((query_name, _time_param(given[name])))
    return tuple(params)


def retry_delay(attempt: int, backoff: float, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): the server's ``Retry-After`` when it
    sends seconds, else exponential backoff with jitter, at most 30 s."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), MAX_RETRY_DELAY)
        except ValueError:
            pass
    delay = backoff * 2.0**attempt
    return min(delay * random.uniform(0.75, 1.25), MAX_RETRY_DELAY)


class PollSchedule:
    """Delays between polls: ``interval`` at first and whenever the task moves, otherwise growing
    by half each poll up to ``max_interval``."""

    def __init__(self, interval: float, max_interval: float) -> None:
        self.interval = max(interval, 0.0)
        self.max_interval = max(max_interval, self.interval)
        self._current = self.interval
        self._last: tuple[str, int | None] | None = None

    def next_delay(self, generation: Generation) -> float:
        seen = (generation.state, generation.progress)
        if seen != self._last:
            self._current = self.interval
            self._last = seen
        else:
            self._current = min(self._current * 1.5, self.max_interval)
        return self._current


class BaseClient:
    def __init__(
        self,
        api_key: str | None,
        base_url: str | None,
        timeout: TimeoutTypes,
        max_retries: int,
        retry_backoff: float,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.base_url = resolve_base_url(base_url)
        self.api_key = resolve_api_key(api_key)
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.retry_backoff = max(0.0, retry_backoff)
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _api_url(self, path: str) -> str:
        return f"{API_PREFIX}{path}"

    def _auth_headers(self) -> dict[str, str]:
        if not self.api_key:
            raise AuthenticationError(
                f"no API key: pass api_key= or set {' or '.join(API_KEY_VARIABLES)}", reason="Unauthorized"
            )
        return {"Authorization": f"Token {self.api_key}"}

    def _should_retry(self, request: httpx.Request, attempt: int) -> bool:
        """GETs, and creates (they carry an ``Idempotency-Key``), may be sent again; cancel is not."""
        safe = request.method == "GET" or IDEMPOTENCY_HEADER in request.headers
        return safe and attempt < self.max_retries

    @staticmethod
    def _parse(response: httpx.Response, model: type[M]) -> M:
        """The answer as ``model``, or the error it carries."""
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            raise APIError(
                f"the server answered {response.status_code} with a body that is not JSON",
                code=response.status_code,
                response=response,
            ) from None
        if isinstance(body, dict) and body.get("code") is not None:
            raise error_from_response(response)
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise APIError(
                f"unexpected answer from the server: {exc.errors()[0].get('msg', exc)}",
                code=response.status_code,
                response=response,
                body=body,
            ) from None

    @staticmethod
    def _check(response: httpx.Response) -> None:
        """Raise the error an answer with no body of interest carries (a status, or a JSON ``code``)."""
        if response.status_code >= 400:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError:
            return
        if isinstance(body, dict) and body.get("code") is not None:
            raise error_from_response(response)

    @staticmethod
    def _creation(generation: Generation, index: int, which: CreationFile) -> tuple[Creation, str]:
        """The creation and URL to download, or why there is none."""
        if generation.failed:
            raise TaskFailedError(generation)
        if not generation.succeeded:
            raise InvalidRequestError(
                f"task {generation.id} is {generation.state}: nothing to download yet",
                reason="TaskNotFinished",
            )
        if not 0 <= index < len(generation.creations):
            raise InvalidRequestError(
                f"task {generation.id} has {len(generation.creations)} creation(s), no index {index}",
                reason="CreationNotFound",
            )
        creation = generation.creations[index]
        url = str(getattr(creation, which, "") or "")
        if not url:
            raise InvalidRequestError(f"creation {creation.id} has no {which}", reason="CreationNotFound")
        return creation, url

    @staticmethod
    def _target(path: str | os.PathLike[str], url: str, creation: Creation) -> Path:
        """Where to save: ``path``, or inside it when it is a folder or ends with a slash (the file
        then keeps its name from the URL)."""
        target = Path(path).expanduser()
        if target.is_dir() or os.fspath(path).endswith(("/", os.sep)):
            name = Path(unquote(urlsplit(url).path)).name or creation.id or "creation"
            target = target / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target
