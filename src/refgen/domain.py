"""The task: what a client asked for, where it stands, and what it produced; the API key that
owns it; the route (task kind, model) a worker serves.

States follow the contract: ``created → queueing → processing → success | failed``. A task that
has not finished may be cancelled (it ends ``failed`` with ``UserCancelled``), and a task whose
worker died goes from ``processing`` back to ``queueing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class TaskState(StrEnum):
    CREATED = "created"
    QUEUEING = "queueing"
    PROCESSING = "processing"
    SUCCESS = "success"
    FAILED = "failed"


class TaskKind(StrEnum):
    """The create endpoint a task came from (``POST /ent/v2/<value>``)."""

    VIDEO = "reference2video"
    IMAGE = "reference2image"
    TEXT_TO_VIDEO = "text2video"
    IMAGE_TO_VIDEO = "img2video"
    START_END_TO_VIDEO = "start-end2video"

    @property
    def makes_video(self) -> bool:
        """Every kind but reference2image makes a video."""
        return self is not TaskKind.IMAGE


Route = tuple[TaskKind, str]
"""What a worker can serve: a task kind and a public model name."""


TERMINAL_STATES = frozenset({TaskState.SUCCESS, TaskState.FAILED})
WAITING_STATES = frozenset({TaskState.CREATED, TaskState.QUEUEING})  # not yet taken by a worker

ALLOWED_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.CREATED: frozenset({TaskState.QUEUEING, TaskState.PROCESSING, TaskState.FAILED}),
    TaskState.QUEUEING: frozenset({TaskState.PROCESSING, TaskState.FAILED}),
    # back to queueing: the worker died and the reaper requeued the task
    TaskState.PROCESSING: frozenset({TaskState.QUEUEING, TaskState.SUCCESS, TaskState.FAILED}),
    TaskState.SUCCESS: frozenset(),
    TaskState.FAILED: frozenset(),
}


def is_terminal(state: TaskState) -> bool:
    return state in TERMINAL_STATES


@dataclass(frozen=True)
class Subject:
    """One subject of reference2video's subjects form: its id (``@id`` in the prompt), how many of
    the task's references are its pictures (subjects take the references in order), its voice."""

    id: str
    image_count: int
    voice_id: str = ""


@dataclass(frozen=True)
class TaskSpec:
    """A validated create request: every option resolved to its effective value."""

    kind: TaskKind
    model: str
    prompt: str
    image_count: int
    duration: int | None  # seconds; None for images
    resolution: str
    aspect_ratio: str
    movement_amplitude: str | None  # None for images
    bgm: bool
    seed: int
    off_peak: bool
    watermark: bool
    wm_position: int
    payload: str
    callback_url: str
    meta_data: str
    credits: int
    style: str = "general"  # text2video's look: general or anime
    audio: bool = False  # a speech track (the prompt's quoted lines)
    voice_id: str = ""  # "" = the backend's choice
    is_rec: bool = False  # img2video / start-end2video: the server writes the prompt
    subjects: tuple[Subject, ...] = ()  # reference2video's subjects form; () for every other body


@dataclass(frozen=True)
class Creation:
    """One produced file and its companions, as file-store keys."""

    id: str
    media_key: str
    cover_key: str
    watermarked_key: str | None
    width: int
    height: int
    duration: float | None = None  # videos only
    fps: int | None = None  # videos only


@dataclass(frozen=True)
class ApiKey:
    """A client's key: its token (stored hashed, and encrypted to sign callbacks), its limits."""

    id: str
    name: str
    token_hash: str
    token_encrypted: bytes
    concurrency: int
    credits: int | None  # remaining balance; None = unlimited
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass
class Task:
    id: str
    key_id: str
    spec: TaskSpec
    reference_keys: list[str]
    watermark_key: str | None
    state: TaskState
    created_at: datetime
    err_code: str = ""
    progress: int = 0
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    worker_id: str | None = None
    lease_expires_at: datetime | None = None
    cancel_requested: bool = False
    creations: list[Creation] = field(default_factory=list)
    # each reference as the client sent it when it was a URL, "" for a data URL (lists show these)
    image_sources: list[str] = field(default_factory=list)

    @property
    def charged_credits(self) -> int:
        """What the task costs the client now: its price on success, 0 when it failed."""
        return 0 if self.state is TaskState.FAILED else self.spec.credits
