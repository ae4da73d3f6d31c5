"""A backend that takes a fixed time per task: for load tests and throughput benchmarks.

Model map entry: ``{"backend": "timed", "options": {"seconds": 0.5, "record": "/path/log"}}``.
It sleeps ``seconds`` (reporting progress in ten steps, looking at the cancel token every 20 ms),
then returns a plain frame (or video of plain frames) at the job's size. With ``record``, it appends one line
``<task id> <pid>`` per generation to that file, so a test can prove each task ran exactly once.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from refgen.domain import TaskKind
from refgen.errors import GenerationCancelled
from refgen.generation import CancelToken, GenerationJob, ImageOutput, ProgressFn, VideoOutput

STEPS = 10
TICK = 0.02  # how often it looks at the cancel token


class TimedBackend:
    name = "timed"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = dict(options or {})
        self.seconds = float(options.get("seconds", 1.0))
        self.record = str(options["record"]) if options.get("record") else None

    def load(self) -> None:
        pass

    def supports(self, kind: TaskKind) -> bool:
        return True

    def close(self) -> None:
        pass

    def generate(
        self, job: GenerationJob, progress: ProgressFn, cancel: CancelToken
    ) -> VideoOutput | ImageOutput:
        if self.record:
            with open(self.record, "a") as log:
                log.write(f"{job.task_id} {os.getpid()}\n")
        started = time.monotonic()
        step = 0
        while (elapsed := time.monotonic() - started) < self.seconds:
            if cancel.is_cancelled():
                raise GenerationCancelled()
            time.sleep(min(TICK, self.seconds - elapsed))
            if (now_step := int((time.monotonic() - started) / self.seconds * STEPS)) > step:
                step = min(now_step, STEPS)
                progress(step, STEPS)
        if cancel.is_cancelled():
            raise GenerationCancelled()
        frame = np.full((job.height, job.width, 3), 96, np.uint8)
        if job.kind is TaskKind.IMAGE:
            return ImageOutput(frame)
        return VideoOutput(itertools.repeat(frame, job.frame_count), job.frame_count, job.fps)
