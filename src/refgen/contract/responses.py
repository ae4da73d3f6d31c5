"""Response bodies as models, field for field as the contract lists them, and their renderers.

One model per body: the created task, Get Generation (also what callbacks carry), the task list
(a refgen extension) and the error body. The HTTP routes and the callback dispatcher both render
through the functions here, so a client polling and a client called back read the same thing.
"""

from __future__ import annotations

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


# --- the task list (a refgen extension) -----------------------------------------------------------


class TaskListItem(Generation):
    """The Get Generation body plus what was asked for."""

    model: str
    kind: Literal["reference2video", "reference2image", "text2video", "img2video", "start-end2video"]
    prompt: str
    created_at: str
    duration: int | None = Field(description="Seconds; null for images.")
    resolution: str
    aspect_ratio: str


class TaskList(BaseModel):
    tasks: list[TaskListItem] = Field(description="Newest first.")


def task_list_item(task: Task, links: Links) -> TaskListItem:
    spec = task.spec
    return TaskListItem(
        **_generation_fields(task, links),
        model=spec.model,
        kind=spec.kind.value,
        prompt=spec.prompt,
        created_at=rfc3339(task.created_at),
        duration=spec.duration,
        resolution=spec.resolution,
        aspect_ratio=spec.aspect_ratio,
    )


def task_list(tasks: Sequence[Task], links: Links) -> TaskList:
    return TaskList(tasks=[task_list_item(task, links) for task in tasks])


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
