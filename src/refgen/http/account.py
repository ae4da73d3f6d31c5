"""``GET /ent/v2/credits``: the calling key's balance, load and (with ``show_detail``) its package."""

from __future__ import annotations

from fastapi import APIRouter, Request

from refgen.contract.account import SHOW_DETAIL, Credits, credits_body, parse_show_detail
from refgen.contract.bodies import WS
from refgen.http.openapi import errors
from refgen.http.parts import KeyDep, TaskListerDep

router = APIRouter()

_SHOW_DETAIL = {
    "name": SHOW_DETAIL,
    "in": "query",
    "required": False,
    # any case, ASCII whitespace around it; empty means false
    "schema": {"type": "string", "pattern": f"^{WS}(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)?{WS}$"},
    "description": "`true` adds `packages` (also `1`; any case); default false.",
}


@router.get(
    "/ent/v2/credits",
    summary="Your credits: balance, concurrency, queue",
    description=(
        "One `remains` entry (also sent as `remaining_credits`) for the calling key; with "
        "`show_detail=true` also its package. A key without a credit limit reports 2147483647."
    ),
    operation_id="credits",
    responses=errors(400, 401),
    openapi_extra={"parameters": [_SHOW_DETAIL]},
)
async def credits(request: Request, tasks: TaskListerDep, key: KeyDep) -> Credits:
    sent = request.query_params.getlist(SHOW_DETAIL)
    detailed = [parse_show_detail(value) for value in sent][-1] if sent else False  # each must be valid
    return credits_body(key, await tasks.usage(key.id), detailed=detailed)
