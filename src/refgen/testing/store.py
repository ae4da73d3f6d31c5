"""An in-memory store with the same semantics as :class:`~refgen.store.sql.SqlStore`.

``MemoryStore`` implements :class:`~refgen.store.base.KeyStore`, :class:`~refgen.store.base.TaskStore`,
:class:`~refgen.store.base.TaskQueue` and :class:`~refgen.store.base.CallbackOutbox` on dictionaries
behind one lock (each state change queues its callback under the same lock, as the SQL store does
in the same transaction), so unit tests of the
service and the workers assert on real state. The same behaviour suite runs against both stores
(``tests/unit/store``). Tasks are copied on the way in and out: mutating a returned task changes
nothing stored.

It is put together from one part per concern, each in its own module:

- :mod:`refgen.testing.memory_state`: the dictionaries, the lock, queueing a callback;
- :mod:`refgen.testing.memory_keys`: API keys;
- :mod:`refgen.testing.memory_tasks`: tasks (insert with the credit check, get, list, cancel);
- :mod:`refgen.testing.memory_queue`: the queue (claim, heartbeat, complete, fail, reap, release);
- :mod:`refgen.testing.memory_workers`: the worker registry;
- :mod:`refgen.testing.memory_outbox`: the callback outbox.

:func:`make_api_key` and :func:`make_task` (from :mod:`refgen.testing.builders`) build valid
objects with test-friendly defaults.
"""

from __future__ import annotations

from refgen.testing.builders import make_api_key, make_task
from refgen.testing.memory_keys import MemoryKeys
from refgen.testing.memory_outbox import MemoryOutbox
from refgen.testing.memory_queue import MemoryQueue
from refgen.testing.memory_tasks import MemoryTasks
from refgen.testing.memory_workers import MemoryWorkers

__all__ = ["MemoryStore", "make_api_key", "make_task"]


class MemoryStore(MemoryKeys, MemoryTasks, MemoryQueue, MemoryWorkers, MemoryOutbox):
    """Keys, tasks and the queue in memory; thread-safe."""

    def ping(self) -> bool:
        return True
