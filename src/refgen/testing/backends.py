"""A fake generation backend for unit tests of the server: fast, predictable, and it remembers.

``FakeBackend`` makes solid-colour frames at the job's size (the colour follows the seed), walks
``steps`` steps reporting progress and polling the cancel token at each, optionally sleeping
``delay_per_step`` seconds per step (to test cancelling a task while it is processing), and can be
told to fail with a given exception. Every job it was asked for is kept in ``jobs``. It serves
every task kind and, unless built with ``speaks=False``, can speak (``audio: true`` gets a silent
track of the right length, as ``bgm`` does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator

import numpy as np

from refgen.backends.base import GenerationBackend
from refgen.contract.catalogue import CATALOGUE
from refgen.domain import Route, TaskKind
from refgen.errors import GenerationCancelled
from refgen.generation import CancelToken, Frame, GenerationJob, ImageOutput, ProgressFn, VideoOutput

SAMPLE_RATE = 48_000


class FakeBackend:
    def __init__(
        self,
        name: str = "fake",
        delay_per_step: float = 0.0,
        steps: int = 4,
        fail_with: BaseException | None = None,
        *,
        kinds: tuple[TaskKind, ...] = tuple(TaskKind),
        speaks: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.delay_per_step = delay_per_step
        self.steps = steps
        self.fail_with = fail_with
        self.kinds = kinds
        self.speaks = speaks
        self.sleep = sleep
        self.jobs: list[GenerationJob] = []
        self.loaded = False
        self.closed = False
        self._lock = threading.Lock()

    def load(self) -> None:
        self.loaded = True

    def supports(self, kind: TaskKind) -> bool:
        return kind in self.kinds

    def close(self) -> None:
        self.closed = True

    def generate(
        self, job: GenerationJob, progress: ProgressFn, cancel: CancelToken
    ) -> VideoOutput | ImageOutput:
        with self._lock:
            self.jobs.append(job)
        if self.fail_with is not None:
            raise self.fail_with
        for step in range(self.steps):
            if cancel.is_cancelled():
                raise GenerationCancelled()
            if self.delay_per_step:
                self.sleep(self.delay_per_step)
            progress(step + 1, self.steps)
        if cancel.is_cancelled():
            raise GenerationCancelled()
        color = self.color(job.seed)
        if not job.kind.makes_video:
            return ImageOutput(image=_solid(job.width, job.height, color))
        audio = None
        if job.bgm or (job.audio and self.speaks):
            audio = np.zeros((2, job.frame_count * SAMPLE_RATE // job.fps), np.float32)
        return VideoOutput(
            frames=_frames(job, color),
            frame_count=job.frame_count,
            fps=job.fps,
            audio=audio,
            sample_rate=SAMPLE_RATE,
        )

    @staticmethod
    def color(seed: int) -> tuple[int, int, int]:
        """The frame colour for a seed."""
        return (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256)


def _solid(width: int, height: int, color: tuple[int, int, int]) -> Frame:
    frame = np.empty((height, width, 3), np.uint8)
    frame[...] = color
    return frame


def _frames(job: GenerationJob, color: tuple[int, int, int]) -> Iterator[Frame]:
    for _ in range(job.frame_count):
        yield _solid(job.width, job.height, color)


def every_route(
    backend: GenerationBackend, models: Collection[str] | None = None
) -> dict[Route, GenerationBackend]:
    """``backend`` for every (kind, model) of the catalogue (or of ``models``): a worker's backends."""
    return {(kind, model): backend for kind, model in CATALOGUE if models is None or model in models}
