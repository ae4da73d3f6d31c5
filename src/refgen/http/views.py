"""Response bodies, field for field as the contract lists them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from refgen.contract.requests import CreateRequest
from refgen.domain import Creation, Task, TaskKind
from refgen.files.urls import LinkMaker


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def created_body(task: Task, request: CreateRequest) -> dict[str, Any]:
    spec = task.spec
    common: dict[str, Any] = {
        "task_id": task.id,
        "state": task.state.value,
        "model": spec.model,
        "images": list(request.images),
        "prompt": spec.prompt,
        "seed": spec.seed,
        "aspect_ratio": spec.aspect_ratio,
        "resolution": spec.resolution,
        "payload": spec.payload,
        "credits": spec.credits,
        "created_at": rfc3339(task.created_at),
    }
    if spec.kind is TaskKind.IMAGE:
        return {**common, "callback_url": spec.callback_url}
    return {
        **common,
        "duration": spec.duration,
        "movement_amplitude": spec.movement_amplitude,
        "bgm": spec.bgm,
        "off_peak": spec.off_peak,
        "watermark": spec.watermark,
    }


def creation_body(creation: Creation, links: LinkMaker) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": creation.id,
        "url": links.url(creation.media_key),
        "cover_url": links.url(creation.cover_key),
        "watermarked_url": links.url(creation.watermarked_key) if creation.watermarked_key else "",
    }
    if creation.duration is not None:
        body["video"] = {
            "duration": creation.duration,
            "fps": creation.fps,
            "resolution": {"width": creation.width, "height": creation.height},
        }
    return body


def generation_body(task: Task, links: LinkMaker) -> dict[str, Any]:
    """The Get Generation body (also what callbacks carry)."""
    return {
        "id": task.id,
        "state": task.state.value,
        "err_code": task.err_code,
        "credits": task.charged_credits,
        "payload": task.spec.payload,
        "bgm": task.spec.bgm,
        "off_peak": task.spec.off_peak,
        "progress": task.progress,
        "creations": [creation_body(c, links) for c in task.creations],
    }
