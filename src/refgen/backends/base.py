"""The contract every generation backend meets.

A backend turns a :class:`GenerationJob` into pixels: a stream of frames (video) or one frame
(image), at exactly the job's output size. Encoding, covers and watermarks are done by the worker
with :mod:`refgen.media`, never by the backend. Backends report progress ``(step, total)`` and poll
the cancel token between steps; when it is set they raise :class:`~refgen.errors.GenerationCancelled`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class GenerationBackend(Protocol):
    """A loaded generator. ``load`` once per worker process, then ``generate`` many times."""

    name: str

    def load(self) -> None:
        """Load weights or warm caches; raise BackendUnavailable if this cannot work here."""

    def supports(self, kind: TaskKind) -> bool: ...

    def generate(
        self, job: GenerationJob, progress: ProgressFn, cancel: CancelToken
    ) -> VideoOutput | ImageOutput:
        """Produce the job's media. Video frames may be produced lazily as the stream is read."""

    def close(self) -> None:
        """Free what ``load`` took."""
