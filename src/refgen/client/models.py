"""What the API answers, as typed models.

Models accept fields they do not know (kept as extras, readable as attributes) and fill fields the
answer leaves out with neutral defaults, because the original cloud API adds fields over time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

TERMINAL_STATES: Final = frozenset({"success", "failed"})
"""The states a task ends in; ``created``, ``queueing`` and ``processing`` come before them."""


class APIModel(BaseModel):
    """The base of every response model: frozen, tolerant of unknown fields."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Resolution(APIModel):
    width: int = 0
    height: int = 0


class VideoInfo(APIModel):
    duration: float = 0
    fps: int = 0
    resolution: Resolution = Field(default_factory=Resolution)


class Creation(APIModel):
    """One generated file. URLs are signed and expire (24 h on refgen)."""

    id: str = ""
    url: str = ""
    cover_url: str = ""
    watermarked_url: str = ""
    video: VideoInfo | None = None


class Generation(APIModel):
    """A task's state, as ``GET /ent/v2/tasks/{id}/creations`` (and callbacks) report it."""

    id: str
    state: str
    err_code: str = ""
    credits: int = 0
    payload: str = ""
    bgm: bool = False
    off_peak: bool = False
    progress: int | None = None
    """0–100; refgen always sends it, the original API may not."""
    creations: list[Creation] = Field(default_factory=list)

    @property
    def done(self) -> bool:
        """The task has ended (``success`` or ``failed``)."""
        return self.state in TERMINAL_STATES

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def failed(self) -> bool:
        return self.state == "failed"


class CreatedTask(APIModel):
    """The answer to a create request: the task and the options it will run with (the fields every
    endpoint echoes; each endpoint's own model adds the rest)."""

    task_id: str
    state: str = "created"
    model: str = ""
    prompt: str = ""
    seed: int = 0
    resolution: str = ""
    payload: str = ""
    credits: int = 0
    created_at: datetime | None = None


class CreatedVideoTask(CreatedTask):
    """The video options every video endpoint echoes."""

    duration: int = 0
    movement_amplitude: str = ""
    bgm: bool = False
    audio: bool = False
    """Whether the video carries generated speech."""
    off_peak: bool = False
    watermark: bool = False


class VideoTask(CreatedVideoTask):
    """The answer to ``reference2video`` (either form; the subjects' pictures flattened in ``images``)."""

    images: list[str] = Field(default_factory=list)
    aspect_ratio: str = ""


class TextVideoTask(CreatedVideoTask):
    """The answer to ``text2video``."""

    style: str = ""
    aspect_ratio: str = ""


class FramesVideoTask(CreatedVideoTask):
    """The answer to ``img2video`` and ``start_end2video``: ``images`` is the first frame (and the
    last, for start-end)."""

    images: list[str] = Field(default_factory=list)
    is_rec: bool = False
    """Whether the server writes the prompt from the pictures."""


class ImageTask(CreatedTask):
    """The answer to ``reference2image``."""

    images: list[str] = Field(default_factory=list)
    aspect_ratio: str = ""
    callback_url: str | None = None


class TaskItem(APIModel):
    """One task of ``GET /ent/v2/tasks``: what was asked for and where it stands."""

    id: str
    key_id: str = ""
    type: str = ""
    """The endpoint that created it: ``reference2video``, ``text2video``, ``img2video``..."""
    model: str = ""
    prompt: str = ""
    images: list[str] = Field(default_factory=list)
    duration: int = 0
    resolution: str = ""
    aspect_ratio: str = ""
    creations: list[Creation] = Field(default_factory=list)
    state: str = ""
    err_code: str = ""
    credits: int = 0
    seed: int = 0
    progress: int | None = None
    """0–100; refgen sends it, the original API may not."""
    created_at: datetime | None = None
    # refgen's additions: the rest of the options asked for, enough to repeat the task
    movement_amplitude: str = ""
    bgm: bool = False
    off_peak: bool = False
    watermark: bool = False
    style: str = ""
    audio: bool = False
    is_rec: bool = False

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES


class TaskPage(APIModel):
    """A page of ``GET /ent/v2/tasks``; pass ``next_page_token`` as ``page_token`` for the next."""

    tasks: list[TaskItem] = Field(default_factory=list)
    next_page_token: str = ""


class CreditRemain(APIModel):
    type: str = ""
    credit_remain: int = 0
    concurrency_limit: int = 0
    current_concurrency: int = 0
    queue_count: int = 0


class CreditPackage(APIModel):
    id: str = ""
    name: str = ""
    type: str = ""
    concurrency: int = 0
    credit_amount: int = 0
    credit_remain: int = 0
    created_at: datetime | None = None
    purchase_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class Credits(APIModel):
    """``GET /ent/v2/credits``: the balance (``remains``) and, when asked for, the packages."""

    remains: list[CreditRemain] = Field(default_factory=list)
    remaining_credits: list[CreditRemain] = Field(default_factory=list)
    packages: list[CreditPackage] = Field(default_factory=list)

    @property
    def credit_remain(self) -> int:
        """Credits left in all (the sum over ``remains``)."""
        return sum(r.credit_remain for r in self.remains or self.remaining_credits)
