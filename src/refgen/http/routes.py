"""The contract's endpoints, plus the model catalogue, health checks and signed file downloads."""

from __future__ import annotations

import mimetypes
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader

from refgen.contract.catalogue import catalogue_as_json
from refgen.domain import ApiKey, TaskKind
from refgen.errors import Forbidden, NotFound, Unauthorized
from refgen.http.bodies import read_json
from refgen.http.views import created_body, generation_body
from refgen.runtime import Runtime

router = APIRouter()


def runtime(request: Request) -> Runtime:
    value = request.app.state.runtime
    assert isinstance(value, Runtime)
    return value


RuntimeDep = Annotated[Runtime, Depends(runtime)]


AUTHORIZATION = APIKeyHeader(
    name="Authorization",
    scheme_name="Token",
    description="`Token <key>` (or `Bearer <key>`); keys are made with `refgen keys create`.",
    auto_error=False,
)


async def api_key(rt: RuntimeDep, authorization: Annotated[str | None, Security(AUTHORIZATION)]) -> ApiKey:
    header = (authorization or "").strip()
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token.strip():
        raise Unauthorized("missing API key: send 'Authorization: Token <key>'")
    key = await anyio.to_thread.run_sync(rt.authenticator.key_for, token.strip())
    if key is None:
        raise Unauthorized("invalid API key")
    return key


KeyDep = Annotated[ApiKey, Depends(api_key)]

_CREATE_DOC = "Body: the contract's JSON fields (see docs/http-api.md). Ints and bools may be strings."


async def _create(kind: TaskKind, request: Request, rt: Runtime, key: ApiKey) -> dict[str, Any]:
    body = await read_json(request)
    task, create = await rt.service.create(key, kind, body)
    return created_body(task, create)


@router.post("/ent/v2/reference2video", summary="Create a reference-to-video task", description=_CREATE_DOC)
async def reference2video(request: Request, rt: RuntimeDep, key: KeyDep) -> dict[str, Any]:
    return await _create(TaskKind.VIDEO, request, rt, key)


@router.post("/ent/v2/reference2image", summary="Create a reference-to-image task", description=_CREATE_DOC)
async def reference2image(request: Request, rt: RuntimeDep, key: KeyDep) -> dict[str, Any]:
    return await _create(TaskKind.IMAGE, request, rt, key)


@router.get("/ent/v2/tasks/{task_id}/creations", summary="Get a task's state and creations")
async def creations(task_id: str, rt: RuntimeDep, key: KeyDep) -> dict[str, Any]:
    task = await anyio.to_thread.run_sync(rt.service.get, key, task_id)
    return generation_body(task, rt.links)


@router.post("/ent/v2/tasks/{task_id}/cancel", summary="Cancel a task")
async def cancel(task_id: str, request: Request, rt: RuntimeDep, key: KeyDep) -> dict[str, Any]:
    await read_json(request, optional=True)
    await anyio.to_thread.run_sync(rt.service.cancel, key, task_id)
    return {}


@router.get("/ent/v2/models", summary="The model catalogue: allowed options, defaults and credits")
async def models(rt: RuntimeDep) -> dict[str, Any]:
    catalogue = catalogue_as_json(rt.catalogue)
    for kind in TaskKind:
        served = rt.served_models(kind)
        entries = catalogue[kind.value]
        assert isinstance(entries, dict)
        for name, entry in entries.items():
            entry["served"] = name in served
    return catalogue


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and a worker alive")
async def readyz(rt: RuntimeDep) -> Response:
    database = await anyio.to_thread.run_sync(rt.store.ping)
    workers = rt.workers_alive()
    ready = database and workers > 0
    body = {"status": "ready" if ready else "not ready", "database": database, "workers": workers}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/files/{key:path}", include_in_schema=False)
async def download(key: str, rt: RuntimeDep, expires: str = "", signature: str = "") -> Response:
    if not rt.signer.verify(key, expires, signature):
        raise Forbidden("link expired or signature invalid")
    path = rt.files.local_path(key)
    if path is None:
        raise NotFound(f"file not found: {key}")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=86400"})
