"""Liveness and readiness probes, the first routes matched (load balancers call them constantly)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from refgen.http.openapi import errors
from refgen.http.parts import ReadinessDep

router = APIRouter()


class Health(BaseModel):
    status: Literal["ok"]


_HEALTHY = Health(status="ok").model_dump_json().encode()


@router.get("/healthz", summary="Liveness", operation_id="healthz", response_model=Health, responses=errors())
async def healthz() -> Response:
    return Response(_HEALTHY, media_type="application/json")


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    database: bool
    workers: int


@router.get(
    "/readyz",
    summary="Readiness: database reachable and a worker alive",
    operation_id="readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready."}, **errors()},
)
async def readyz(probe: ReadinessDep) -> Response:
    database = await probe.database()
    workers = await probe.workers()
    ready = database and workers > 0
    body = Readiness(status="ready" if ready else "not ready", database=database, workers=workers)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
