"""Get Generation without a database read for tasks that have ended.

A task that ended (``success`` or ``failed``) never changes again, so its answer, links included,
is kept as ready JSON for :data:`ENDED_BODY_SECONDS` (far shorter than a link's 24 hours, so every
link handed out stays valid for nearly its full lifetime); a task still waiting or running is read
every time. The entry remembers its key: another key's read of the same id is a ``TaskNotFound``,
exactly as uncached. With retention, an entry never outlives the moment its task may be swept, so a
swept task is never answered from memory (it is a ``TaskNotFound`` at once, in every process).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio.to_thread

from refgen.clock import utcnow
from refgen.contract.responses import generation
from refgen.domain import TERMINAL_STATES, ApiKey, Task
from refgen.files.urls import LinkMaker

ENDED_BODY_SECONDS = 60.0
ENDED_BODY_COUNT = 4_096


@dataclass(frozen=True)
class _Ended:
    key_id: str
    body: bytes
    expires: float


class GenerationReads:
    """The Get Generation body of a key's task, as JSON bytes. ``get`` is the service's read: it
    refuses (``TaskNotFound``) an id that is unknown or another key's."""

    def __init__(
        self,
        get: Callable[[ApiKey, str], Task],
        links: LinkMaker,
        *,
        ttl: float = ENDED_BODY_SECONDS,
        size: int = ENDED_BODY_COUNT,
        clock: Callable[[], float] = time.monotonic,
        retention: timedelta | None = None,
        wall_clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._get = get
        self._retention = retention
        self._wall_clock = wall_clock
        self._links = links
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._ended: OrderedDict[str, _Ended] = OrderedDict()

    async def body(self, key: ApiKey, task_id: str) -> bytes:
        now = self._clock()
        kept = self._ended.get(task_id)
        if kept is not None and kept.expires > now and kept.key_id == key.id:
            self._ended.move_to_end(task_id)
            return kept.body
        # not kept, expired, or another key's: the service answers (and refuses a stranger's task)
        task = await anyio.to_thread.run_sync(self._get, key, task_id)
        body = generation(task, self._links).model_dump_json().encode()
        keep = self._keep_seconds(task)
        if keep > 0:
            self._ended[task_id] = _Ended(task.key_id, body, now + keep)
            self._ended.move_to_end(task_id)
            if len(self._ended) > self._size:
                self._ended.popitem(last=False)
        return body

    def _keep_seconds(self, task: Task) -> float:
        """How long ``task``'s answer may be kept: 0 unless it ended; never past its retention."""
        if task.state not in TERMINAL_STATES:
            return 0.0
        if self._retention is None:
            return self._ttl
        if task.finished_at is None:
            return 0.0
        left = (task.finished_at + self._retention - self._wall_clock()).total_seconds()
        return min(self._ttl, left)
