"""An in-memory store with the same semantics as :class:`~refgen.store.sql.SqlStore`.

``MemoryStore`` has the same parts as the SQL store (``store.keys``, ``store.tasks``,
``store.queue``, ``store.outbox``, ``store.workers``, ``store.retention``) on dictionaries behind
one lock (each state change queues its callback under the same lock, as the SQL store does in the
same transaction), so unit tests of the service and the workers assert on real state. The same
behaviour suite runs against both stores. Tasks are copied on the way in and out: mutating a
returned task changes nothing stored.

Each part lives in its own module and is given the one shared state:

- :mod:`refgen.testing.memory_state`: the dictionaries, the lock, applying a task change;
- :mod:`refgen.testing.memory_keys`: API keys;
- :mod:`refgen.testing.memory_tasks`: tasks (insert with the credit check, get, list, cancel);
- :mod:`refgen.testing.memory_queue`: the queue (claim, heartbeat, complete, fail, reap, release);
- :mod:`refgen.testing.memory_workers`: the worker registry;
- :mod:`refgen.testing.memory_outbox`: the callback outbox;
- :mod:`refgen.testing.memory_retention`: removing old finished tasks.

:func:`make_api_key` and :func:`make_task` (from :mod:`refgen.testing.builders`) build valid
objects with test-friendly defaults.
"""

from __future__ import annotations

from refgen.testing.builders import make_api_key, make_task
from refgen.testing.memory_keys import MemoryKeys
from refgen.testing.memory_outbox import MemoryOutbox
from refgen.testing.memory_queue import MemoryQueue
from refgen.testing.memory_retention import MemoryRetention
from refgen.testing.memory_state import MemoryState
from refgen.testing.memory_tasks import MemoryTasks
from refgen.testing.memory_workers import MemoryWorkers

__all__ = ["MemoryStore", "make_api_key", "make_task"]


class MemoryStore:
    """Keys, tasks, the queue, workers and the outbox in memory; thread-safe."""

    def __init__(self) -> None:
        state = MemoryState()
        self.keys = MemoryKeys(state)
        self.tasks = MemoryTasks(state)
        self.queue = MemoryQueue(state)
        self.outbox = MemoryOutbox(state)
        self.workers = MemoryWorkers(state)
        self.retention = MemoryRetention(state)

    def ping(self) -> bool:
        return True
