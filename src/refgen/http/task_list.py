"""``GET /ent/v2/tasks``: the calling key's tasks, newest first, filtered, a page at a time.

The query is parsed by :mod:`refgen.contract.listing` (read from the raw query string: names with
dots, repeated keys and ``task_ids[]`` are not FastAPI parameters, so the OpenAPI parameters are
declared here). A page is either ``paper.page`` pages into the list or, with ``pager.page_token``
(:mod:`refgen.http.page_tokens`), the tasks after the last one of the previous page. The answer
carries a ``next_page_token`` when more tasks follow (one more task than the page is read to know).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from refgen.contract.bodies import WS
from refgen.contract.listing import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE,
    parse_list_query,
    task_query,
    time_window,
)
from refgen.contract.responses import TaskList, task_list
from refgen.domain import TaskState
from refgen.http.openapi import errors
from refgen.http.page_tokens import PagePosition
from refgen.http.parts import CACHED_KEY_SECURITY, CachedKeyDep, LinksDep, TaskListerDep
from refgen.task_query import MAX_PAGE_SIZE, MAX_TASK_IDS, TaskCursor

router = APIRouter()


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _strings(**extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, **extra}


_TIME = "RFC 3339 time (a time without an offset is UTC) or Unix seconds."
# a query value of only whitespace (or none: `states=`) means "not given", as in the bodies
_BLANK = {"type": "string", "pattern": f"^{WS}$"}
_PAGE = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_PAGE}, _BLANK]}
_PAGE_SIZE = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}, _BLANK]}
_STATE = f"{WS}(?:{'|'.join(s.value for s in TaskState)})?{WS}"
# each value is one state or several, comma-separated; empty entries are skipped
_STATES = {"type": "array", "items": {"type": "string", "pattern": f"^{_STATE}(?:,{_STATE})*$"}}
_TASK_IDS = _strings(maxItems=MAX_TASK_IDS)

PARAMETERS = [
    _query("created_at.from", {"type": "string"}, f"Created at or after. {_TIME}"),
    _query(
        "created_at.to",
        {"type": "string"},
        f"Created before. {_TIME} Without `task_ids`, the window is 7 days ending now by default.",
    ),
    _query(
        "task_ids", _TASK_IDS, f"Only these tasks (at most {MAX_TASK_IDS}; repeated, or comma-separated)."
    ),
    _query("task_ids[]", _TASK_IDS, "Same as `task_ids`."),
    _query("states", _STATES, "Only tasks in these states."),
    _query("model_versions", _strings(), "Only these models, with or without the `vidu` prefix (`q1`)."),
    _query("resolutions", _strings(), "Only these resolutions, exactly (`720p`)."),
    _query("templates", _strings(), "refgen has no templates: any value matches nothing."),
    _query("paper.page", _PAGE, "Page number from 0 (default 0)."),
    _query("pager.page", _PAGE, "Same as `paper.page`."),
    _query("paper.pagesz", _PAGE_SIZE, f"Page size (default {DEFAULT_PAGE_SIZE})."),
    _query("pager.pagesz", _PAGE_SIZE, "Same as `paper.pagesz`."),
    _query("limit", _PAGE_SIZE, "Same as `paper.pagesz` (refgen's earlier name)."),
    _query(
        "pager.page_token",
        {"type": "string"},
        "A `next_page_token` from an earlier answer with the same filters; wins over `paper.page`.",
    ),
]


@router.get(
    "/ent/v2/tasks",
    summary="List your tasks, newest first, filtered and paged",
    description=(
        "Only the calling key's tasks, newest first (creation time, then id, both descending). Filters "
        "combine (all must hold). `pager.page_token` continues after the previous page; a token issued "
        "for other filters or another key is refused (400 `FieldInvalid`). Page size outside 1 to "
        f"{MAX_PAGE_SIZE}: 400 `PageSizeOutOfRange`."
    ),
    operation_id="list_tasks",
    responses=errors(400, 401),
    openapi_extra={"parameters": PARAMETERS, **CACHED_KEY_SECURITY},
)
async def list_tasks(request: Request, tasks: TaskListerDep, links: LinksDep, key: CachedKeyDep) -> TaskList:
    asked = parse_list_query(request.query_params.multi_items())
    filters = asked.filters
    if asked.page_token:
        position = tasks.tokens.read(asked.page_token, key.id, filters)
        window, after, offset = position.window, position.cursor, 0
    else:
        window, after, offset = time_window(filters, tasks.clock()), None, asked.page * asked.page_size
    size = asked.page_size
    found = await tasks.page(task_query(key.id, filters, window, limit=size + 1, offset=offset, after=after))
    shown = found[:size]
    next_token = ""
    if len(found) > size:
        next_token = tasks.tokens.issue(key.id, filters, PagePosition(TaskCursor.of(shown[-1]), window))
    return task_list(shown, links, next_token)
