"""What a task list asks the store for, and what a key's credits summary reads from it.

:class:`TaskQuery` is one page of a key's tasks in the list order: **newest first**, that is
``created_at`` descending, then ``id`` descending among tasks created in the same microsecond (a
total order, so a keyset cursor never skips or repeats a task). Filters left as ``None`` match
everything; an empty tuple matches nothing (e.g. a model name no task can have). A page is either
``offset`` tasks into the list or, with ``after``, the tasks that come after that one in the order
(keyset paging: stable while new tasks are created).

:class:`KeyUsage` is what ``GET /ent/v2/credits`` needs beyond the key itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from refgen.domain import Task, TaskState

MAX_TASK_IDS = 100
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class TaskCursor:
    """A position in the list order: the last item of a page (its creation time and id)."""

    created_at: datetime
    id: str

    @classmethod
    def of(cls, task: Task) -> TaskCursor:
        return cls(task.created_at, task.id)


@dataclass(frozen=True)
class TaskQuery:
    """One page of one key's tasks, filtered; every filter must hold (and within one, any value)."""

    key_id: str
    task_ids: tuple[str, ...] | None = None
    states: tuple[TaskState, ...] | None = None
    models: tuple[str, ...] | None = None  # public model names, exact
    resolutions: tuple[str, ...] | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    limit: int = 10
    offset: int = 0
    after: TaskCursor | None = None  # keyset: only tasks after this one in the list order

    def matches(self, task: Task) -> bool:
        """Whether ``task`` passes the filters (the key included); paging aside."""
        spec = task.spec
        return (
            task.key_id == self.key_id
            and (self.task_ids is None or task.id in self.task_ids)
            and (self.states is None or task.state in self.states)
            and (self.models is None or spec.model in self.models)
            and (self.resolutions is None or spec.resolution in self.resolutions)
            and (self.created_from is None or task.created_at >= self.created_from)
            and (self.created_to is None or task.created_at < self.created_to)
            and (self.after is None or (task.created_at, task.id) < (self.after.created_at, self.after.id))
        )


def list_order(task: Task) -> tuple[datetime, str]:
    """Sort key of the list order (use with ``reverse=True``: newest first)."""
    return (task.created_at, task.id)


@dataclass(frozen=True)
class KeyUsage:
    """A key's balance and its tasks summed up, read at one moment: the key's ``balance`` (what is
    left after the charges; None = unlimited), credits ``charged`` (its ``success`` tasks), credits
    ``held`` by its unfinished tasks, how many are ``processing`` and how many are ``waiting``
    (created, queueing)."""

    balance: int | None = None
    charged: int = 0
    held: int = 0
    processing: int = 0
    waiting: int = 0
