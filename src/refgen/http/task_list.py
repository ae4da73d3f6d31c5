"""A refgen extension to the contract: ``GET /ent/v2/tasks``, the caller's own tasks, newest first.

Vidu's contract has no "list my tasks" call; the web console needs one. Each item is the Get
Generation body (the same fields, the same signed links) plus what a list shows about a task:
``model``, ``kind``, ``prompt``, ``created_at``, ``duration``, ``resolution`` and ``aspect_ratio``
(:class:`refgen.contract.responses.TaskListItem`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from refgen.contract.responses import TaskList, task_list
from refgen.errors import FieldInvalid
from refgen.http.openapi import errors
from refgen.http.parts import KeyDep, LinksDep, TaskListerDep

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

router = APIRouter()


@router.get(
    "/ent/v2/tasks",
    summary="List your tasks, newest first (refgen extension)",
    description=(
        "Not part of Vidu's contract. Only the calling key's tasks, newest first; `limit` 1 to "
        f"{MAX_LIMIT} (default {DEFAULT_LIMIT}). Each item is the Get Generation body plus `model`, "
        "`kind`, `prompt`, `created_at`, `duration`, `resolution` and `aspect_ratio`."
    ),
    operation_id="list_tasks",
    responses=errors(400, 401),
)
async def list_tasks(
    tasks: TaskListerDep,
    links: LinksDep,
    key: KeyDep,
    limit: Annotated[int, Query(json_schema_extra={"minimum": 1, "maximum": MAX_LIMIT})] = DEFAULT_LIMIT,
) -> TaskList:
    if not 1 <= limit <= MAX_LIMIT:
        raise FieldInvalid(f"invalid field: limit (1 to {MAX_LIMIT})", field="limit")
    return task_list(await tasks(key.id, limit), links)
