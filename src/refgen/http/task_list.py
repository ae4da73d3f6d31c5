"""A refgen extension to the contract: ``GET /ent/v2/tasks``, the caller's own tasks, newest first.

Vidu's contract has no "list my tasks" call; the web console needs one. Each item is the Get
Generation body (the same fields, the same signed links) plus what a list shows about a task:
``model``, ``kind``, ``prompt``, ``created_at``, ``duration``, ``resolution`` and ``aspect_ratio``.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter

from refgen.domain import Task
from refgen.errors import FieldInvalid
from refgen.files.urls import LinkMaker
from refgen.http.routes import KeyDep, RuntimeDep
from refgen.http.views import generation_body, rfc3339

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

router = APIRouter()


def task_list_item(task: Task, links: LinkMaker) -> dict[str, Any]:
    """One task as the list shows it: the Get Generation body and what was asked for."""
    spec = task.spec
    return {
        **generation_body(task, links),
        "model": spec.model,
        "kind": spec.kind.value,
        "prompt": spec.prompt,
        "created_at": rfc3339(task.created_at),
        "duration": spec.duration,
        "resolution": spec.resolution,
        "aspect_ratio": spec.aspect_ratio,
    }


@router.get(
    "/ent/v2/tasks",
    summary="List your tasks, newest first (refgen extension)",
    description=(
        "Not part of Vidu's contract. Only the calling key's tasks, newest first; `limit` 1 to "
        f"{MAX_LIMIT} (default {DEFAULT_LIMIT}). Each item is the Get Generation body plus `model`, "
        "`kind`, `prompt`, `created_at`, `duration`, `resolution` and `aspect_ratio`."
    ),
)
async def list_tasks(rt: RuntimeDep, key: KeyDep, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    if not 1 <= limit <= MAX_LIMIT:
        raise FieldInvalid(f"invalid field: limit (1 to {MAX_LIMIT})", field="limit")
    tasks = await anyio.to_thread.run_sync(rt.store.tasks.list_tasks, key.id, limit)
    return {"tasks": [task_list_item(task, rt.links) for task in tasks]}
