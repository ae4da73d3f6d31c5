"""Response bodies as models, field for field as the contract lists them, and their renderers.

One model per body: the created task, Get Generation (also what callbacks carry), the task list
and the error body (the credits body is in :mod:`refgen.contract.account`). The HTTP routes and
the callback dispatcher both render through the functions here, so a client polling and a client
called back read the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from refgen.contract.requests import CreateRequest
from refgen.domain import Creation, Task, TaskKind
from refgen.err_codes import ErrCode

PublicState = Literal["created", "queueing", "processing", "success", "failed"]


class Links(Protocol):
    """Turns a file-store key into a signed download URL (``refgen.files.urls.FileLinks``)."""

    def url(self, key: str) -> str: ...


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- created ----------------------------------------------------------------------------------------


class CreatedTask(BaseModel):
    """What every create endpoint answers: the task and the options it will run with."""

    task_id: str
    state: PublicState = Field(description="Always `created` in this answer.")
    model: str
    prompt: str
    seed: int = Field(description="The seed actually used (a random one when 0 or absent was sent).")
    resolution: str
    payload: str
    credits: int = Field(description="What the task costs on success.")
    created_at: str = Field(description="RFC 3339, UTC, fractional seconds, `Z`.")


class CreatedVideoTask(CreatedTask):
    """The video options every video endpoint echoes."""

    duration: int
    movement_amplitude: str
    bgm: bool
    audio: bool = Field(description="Whether the video carries generated speech.")
    off_peak: bool
    watermark: bool


class CreatedVideo(CreatedVideoTask):
    """The answer of POST /ent/v2/reference2video (either form)."""

    images: list[str] = Field(description="As sent; the subjects form's pictures flattened in request order.")
    aspect_ratio: str


class CreatedImage(CreatedTask):
    """The answer of POST /ent/v2/reference2image."""

    images: list[str] = Field(description="As sent.")
    aspect_ratio: str
    callback_url: str


class CreatedTextVideo(CreatedVideoTask):
    """The answer of POST /ent/v2/text2video."""

    style: str
    aspect_ratio: str


class CreatedFramesVideo(CreatedVideoTask):
    """The answer of POST /ent/v2/img2video and POST /ent/v2/start-end2video."""

    images: list[str] = Field(description="As sent: the first frame (and the last, for start-end2video).")
    is_rec: bool = Field(description="As sent: whether the server writes the prompt from the pictures.")


CREATED_MODELS: dict[TaskKind, type[CreatedTask]] = {
    TaskKind.VIDEO: CreatedVideo,
    TaskKind.IMAGE: CreatedImage,
    TaskKind.TEXT_TO_VIDEO: CreatedTextVideo,
    TaskKind.IMAGE_TO_VIDEO: CreatedFramesVideo,
    TaskKind.START_END_TO_VIDEO: CreatedFramesVideo,
}
"""Each create endpoint's answer, field for field as the contract lists it."""


def created(task: Task, request: CreateRequest) -> CreatedTask:
    spec = task.spec
    values: dict[str, Any] = {
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
        "callback_url": spec.callback_url,
        "duration": spec.duration,
        "movement_amplitude": spec.movement_amplitude,
        "bgm": spec.bgm,
        "audio": spec.audio,
        "off_peak": spec.off_peak,
        "watermark": spec.watermark,
        "style": spec.style,
        "is_rec": spec.is_rec,
    }
    model = CREATED_MODELS[spec.kind]
    return model(**{name: values[name] for name in model.model_fields})


# --- Get Generation ------------------------------------------------------------------------------


class FrameSize(BaseModel):
    width: int
    height: int


class VideoInfo(BaseModel):
    duration: float = Field(description="Seconds.")
    fps: int
    resolution: FrameSize


class CreationBody(BaseModel):
    """One produced file; URLs are signed and valid for 24 hours."""

    id: str
    url: str
    cover_url: str
    watermarked_url: str = Field(description='The watermarked copy when watermark was asked for, else "".')
    video: VideoInfo | None = Field(
        default=None, exclude_if=lambda value: value is None, description="Videos only (absent for images)."
    )


class Generation(BaseModel):
    """The Get Generation body; callbacks POST the same body."""

    id: str
    state: PublicState
    err_code: str = Field(description='"" unless failed; then a reason, e.g. `UserCancelled`.')
    credits: int = Field(description="What the task costs; 0 for failed or cancelled tasks.")
    payload: str
    bgm: bool
    off_peak: bool
    progress: int = Field(ge=0, le=100)
    creations: list[CreationBody] = Field(description="Always a list; `[]` until success.")


def creation(item: Creation, links: Links) -> CreationBody:
    video = None
    if item.duration is not None:
        assert item.fps is not None
        video = VideoInfo(
            duration=item.duration, fps=item.fps, resolution=FrameSize(width=item.width, height=item.height)
        )
    return CreationBody(
        id=item.id,
        url=links.url(item.media_key),
        cover_url=links.url(item.cover_key),
        watermarked_url=links.url(item.watermarked_key) if item.watermarked_key else "",
        video=video,
    )


def _generation_fields(task: Task, links: Links) -> dict[str, Any]:
    return {
        "id": task.id,
        "state": task.state.value,
        "err_code": task.err_code,
        "credits": task.charged_credits,
        "payload": task.spec.payload,
        "bgm": task.spec.bgm,
        "off_peak": task.spec.off_peak,
        "progress": task.progress,
        "creations": [creation(c, links) for c in task.creations],
    }


def generation(task: Task, links: Links) -> Generation:
    return Generation(**_generation_fields(task, links))


def generation_body(task: Task, links: Links) -> dict[str, Any]:
    """The Get Generation body as JSON-ready data (what the callback dispatcher sends)."""
    return generation(task, links).model_dump(mode="json")


# --- the task list (GET /ent/v2/tasks) --------------------------------------------------------------

TaskType = Literal["reference2video", "reference2image", "text2video", "img2video", "start-end2video"]
"""The endpoint that created a task (the values of :class:`~refgen.domain.TaskKind`)."""

_FRAME_RATIO_KINDS = frozenset({TaskKind.IMAGE_TO_VIDEO, TaskKind.START_END_TO_VIDEO})


class TaskListItem(BaseModel):
    """One task of the list: what was asked for and where it stands."""

    id: str
    key_id: str = Field(description="A stable id of the key that created the task (never its token).")
    type: TaskType = Field(description="The endpoint that created the task.")
    model: str
    prompt: str
    images: list[str] = Field(
        description="Each reference: its URL as sent, or a signed 24-hour link of refgen's stored copy "
        "when it was sent as a data URL."
    )
    duration: int = Field(description="Seconds; 0 for images.")
    resolution: str
    aspect_ratio: str = Field(description="For img2video and start-end2video the output frame's ratio.")
    creations: list[CreationBody] = Field(description="As in Get Generation; `[]` until success.")
    state: PublicState
    err_code: str = Field(description='"" unless failed.')
    credits: int = Field(description="What the task costs; 0 for failed or cancelled tasks.")
    seed: int
    progress: int = Field(ge=0, le=100, description="0–100 (refgen; as in Get Generation).")
    created_at: str = Field(description="RFC 3339, UTC, fractional seconds, `Z`.")
    # the rest of the options asked for (refgen's addition: enough to repeat the task)
    movement_amplitude: str = Field(description='Videos: the effective value; "" for images.')
    bgm: bool
    off_peak: bool
    watermark: bool
    style: str
    audio: bool
    is_rec: bool


class TaskList(BaseModel):
    tasks: list[TaskListItem] = Field(description="Newest first.")
    next_page_token: str = Field(
        description='Pass as `pager.page_token` with the same filters for the next page; "" on the last page.'
    )


def listed_images(task: Task, links: Links) -> list[str]:
    """Each reference as the list shows it: the URL the client sent, else a link to the stored copy."""
    sources = task.image_sources
    keys = task.reference_keys
    return [(sources[i] if i < len(sources) else "") or links.url(key) for i, key in enumerate(keys)]


def listed_aspect_ratio(task: Task) -> str:
    """The task's ratio; for img2video and start-end2video, the frame made once there is one (the
    output takes the picture's ratio, reduced: 1920×1080 is ``16:9``)."""
    if task.spec.kind in _FRAME_RATIO_KINDS and task.creations:
        first = task.creations[0]
        divisor = math.gcd(first.width, first.height)
        if divisor:
            return f"{first.width // divisor}:{first.height // divisor}"
    return task.spec.aspect_ratio


def task_list_item(task: Task, links: Links) -> TaskListItem:
    spec = task.spec
    return TaskListItem(
        id=task.id,
        key_id=task.key_id,
        type=spec.kind.value,
        model=spec.model,
        prompt=spec.prompt,
        images=listed_images(task, links),
        duration=spec.duration or 0,
        resolution=spec.resolution,
        aspect_ratio=listed_aspect_ratio(task),
        creations=[creation(c, links) for c in task.creations],
        state=task.state.value,
        err_code=task.err_code,
        credits=task.charged_credits,
        seed=spec.seed,
        progress=task.progress,
        created_at=rfc3339(task.created_at),
        movement_amplitude=spec.movement_amplitude or "",
        bgm=spec.bgm,
        off_peak=spec.off_peak,
        watermark=spec.watermark,
        style=spec.style,
        audio=spec.audio,
        is_rec=spec.is_rec,
    )


def task_list(tasks: Sequence[Task], links: Links, next_page_token: str = "") -> TaskList:
    return TaskList(tasks=[task_list_item(task, links) for task in tasks], next_page_token=next_page_token)


# --- errors -------------------------------------------------------------------------------------------


class ErrorMetadata(BaseModel):
    trace_id: str = Field(description="32 hex digits; also in the `X-Trace-Id` header.")


class ErrorBody(BaseModel):
    """Every refusal and failure: HTTP status N and this body."""

    code: int = Field(description="The HTTP status.")
    reason: ErrCode = Field(
        description="Why: the contract's error codes, e.g. `FieldInvalid`, `TaskNotFound`."
    )
    message: str = Field(description="Names the offending field, and for images its index.")
    metadata: ErrorMetadata


def error_body(status: int, reason: ErrCode, message: str, trace_id: str) -> ErrorBody:
    return ErrorBody(code=status, reason=reason, message=message, metadata=ErrorMetadata(trace_id=trace_id))
