"""The contract's endpoints, plus the model catalogue and signed file downloads."""

from __future__ import annotations

import mimetypes
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from refgen.contract.responses import CREATED_MODELS, Generation, created
from refgen.domain import TaskKind
from refgen.errors import Forbidden, NotFound
from refgen.files.base import valid_key
from refgen.http.bodies import read_json
from refgen.http.openapi import IdempotencyKeyHeader, create_body, errors, optional_body, task_links
from refgen.http.parts import (
    CACHED_KEY_SECURITY,
    CachedKeyDep,
    CatalogueDep,
    FilesDep,
    KeyDep,
    ServiceDep,
    generation_reads,
)

router = APIRouter()

_CREATE_DOC = (
    "Body: the contract's JSON fields (see docs/http-api.md). Ints and bools may be strings; `null` or "
    '`""` means not given; unknown fields are ignored. Images must decode as PNG, JPEG or WebP of at '
    "least 128×128 px: a body can match the schema and still be refused (400) for its images or for a "
    "combination the chosen model does not offer (see each field's description)."
)


@router.get(
    "/ent/v2/tasks/{task_id}/creations",
    summary="Get a task's state and creations",
    operation_id="get_generation",
    response_model=Generation,
    responses=errors(401, 404),
    openapi_extra=CACHED_KEY_SECURITY,
)
async def creations(task_id: str, request: Request, key: CachedKeyDep) -> Response:
    return Response(await generation_reads(request).body(key, task_id), media_type="application/json")


CREATE_ROUTES: dict[TaskKind, str] = {
    TaskKind.VIDEO: "Create a reference-to-video task (images, or subjects)",
    TaskKind.IMAGE: "Create a reference-to-image task",
    TaskKind.TEXT_TO_VIDEO: "Create a text-to-video task",
    TaskKind.IMAGE_TO_VIDEO: "Create an image-to-video task (the picture is the first frame)",
    TaskKind.START_END_TO_VIDEO: "Create a start-and-end-frame video task",
}
"""One create route per task kind and its summary (the body comes from
:data:`refgen.contract.bodies.BODY_MODELS`, the answer's model from
:data:`refgen.contract.responses.CREATED_MODELS`)."""


def _add_create_route(kind: TaskKind, summary: str, answer: type[BaseModel]) -> None:
    async def create(
        request: Request, service: ServiceDep, key: CachedKeyDep, idempotency_key: IdempotencyKeyHeader = None
    ) -> Any:
        task, parsed = await service.create(key, kind, await read_json(request), idempotency_key)
        return created(task, parsed)

    router.add_api_route(
        f"/ent/v2/{kind.value}",
        create,
        methods=["POST"],
        summary=summary,
        description=_CREATE_DOC,
        operation_id=kind.value,
        response_model=answer,
        responses={200: {"model": answer, "links": task_links()}, **errors(400, 401, 409, 413, 429)},
        openapi_extra={**create_body(kind), **CACHED_KEY_SECURITY},
    )


for _kind, _summary in CREATE_ROUTES.items():
    _add_create_route(_kind, _summary, CREATED_MODELS[_kind])


class Cancelled(BaseModel):
    """Always ``{}``."""


@router.post(
    "/ent/v2/tasks/{task_id}/cancel",
    summary="Cancel a task",
    description="The task ends `failed` with `UserCancelled` and 0 credits. A task that already ended: 400.",
    operation_id="cancel_task",
    responses=errors(400, 401, 404, 413),
    openapi_extra=optional_body('Optional and ignored (`{"id": ...}` is tolerated); must be JSON if sent.'),
)
async def cancel(task_id: str, request: Request, service: ServiceDep, key: KeyDep) -> Cancelled:
    await read_json(request, optional=True)
    await anyio.to_thread.run_sync(service.cancel, key, task_id)
    return Cancelled()


@router.get(
    "/ent/v2/models",
    summary="The model catalogue: allowed options, defaults and credits",
    operation_id="models",
    responses=errors(),
)
async def models(catalogue: CatalogueDep) -> dict[str, Any]:
    return catalogue.as_json()


_FILE_TYPES = ("video/mp4", "image/png", "image/jpeg", "image/webp", "application/octet-stream")


@router.get(
    "/files/{key:path}",
    summary="Download a stored file through a signed link (as Get Generation gives them)",
    operation_id="download_file",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file.",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in _FILE_TYPES},
        },
        **errors(403, 404),
    },
)
async def download(key: str, files: FilesDep, expires: str = "", signature: str = "") -> Response:
    if not files.verify(key, expires, signature):
        raise Forbidden("link expired or signature invalid")
    if not valid_key(key):  # refgen never signs such a key: nothing is there
        raise NotFound(f"file not found: {key}")
    path = files.local_path(key)
    if path is None:
        raise NotFound(f"file not found: {key}")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=86400"})
