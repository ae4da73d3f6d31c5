"""What a generation takes and makes: the job, its frames, the video or image that comes out.

These values travel between three layers: a backend makes them, :mod:`refgen.media` renders
and encodes them, and the worker hands one to the other. They live here, below both backends
and media, because media sits below backends (media encodes frames, and must not depend on the
plug point that produces them), and because a job is not media either: it is a task's request
turned into sizes, a seed and local reference files. :mod:`refgen.backends.base` keeps only the
:class:`~refgen.backends.base.GenerationBackend` contract, written in these terms.

Progress is reported as ``(step, total)``; a cancel token is polled between steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from refgen.domain import TaskKind

Frame = npt.NDArray[np.uint8]
"""An RGB frame, shape ``(height, width, 3)``, dtype uint8."""

ProgressFn = Callable[[int, int], None]
"""Called with ``(step, total)`` as generation advances."""


class CancelToken(Protocol):
    def is_cancelled(self) -> bool: ...


@dataclass(frozen=True)
class SubjectReferences:
    """One subject's pictures (local files, in request order), its id and its voice."""

    id: str
    references: tuple[Path, ...]
    voice_id: str = ""


@dataclass(frozen=True)
class GenerationJob:
    """Everything a backend needs; references are local files the server already validated."""

    task_id: str
    kind: TaskKind
    model: str
    prompt: str
    references: tuple[Path, ...]
    width: int
    height: int
    seed: int
    duration: int = 0  # seconds, videos only
    fps: int = 24
    movement_amplitude: str = "auto"
    bgm: bool = False
    style: str = "general"  # general or anime
    audio: bool = False  # speak the prompt's quoted lines (or the whole prompt)
    voice_id: str = ""
    # reference2video's subjects form: ``references`` grouped by subject, in order; () otherwise
    subjects: tuple[SubjectReferences, ...] = ()

    @property
    def frame_count(self) -> int:
        return self.duration * self.fps


@dataclass
class VideoOutput:
    """A video as a stream: ``frames`` yields exactly ``frame_count`` frames of the job's size."""

    frames: Iterator[Frame]
    frame_count: int
    fps: int
    audio: npt.NDArray[np.float32] | None = None  # shape (2, samples), values in [-1, 1]
    sample_rate: int = 48_000


@dataclass
class ImageOutput:
    image: Frame
