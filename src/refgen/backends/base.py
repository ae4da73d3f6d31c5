"""The contract every generation backend meets.

A backend turns a :class:`~refgen.generation.GenerationJob` into pixels: a stream of frames
(video) or one frame (image), at exactly the job's output size. Encoding, covers and watermarks
are done by the worker with :mod:`refgen.media`, never by the backend. Backends report progress
``(step, total)`` and poll the cancel token between steps; when it is set they raise
:class:`~refgen.errors.GenerationCancelled`. The job, frame and output types live in
:mod:`refgen.generation`, below both backends and media.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from refgen.domain import TaskKind
from refgen.generation import CancelToken, GenerationJob, ImageOutput, ProgressFn, VideoOutput


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
