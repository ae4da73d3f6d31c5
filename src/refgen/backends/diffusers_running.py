"""Running one job on a loaded diffusers pipeline: progress and cancel per step, out of memory,
the seeded generator, and the background music.

**Cancel and progress.** :class:`StepControl` is passed as the pipeline's ``callback_on_step_end``.
After each denoising step it reports ``(step, total)`` and polls the cancel token; when the token
is set it sets ``pipe._interrupt = True`` and raises :class:`~refgen.errors.GenerationCancelled`
out of the pipeline's loop. The flag alone is not enough: ``WanVACEPipeline`` and
``Flux2KleinPipeline`` (diffusers 0.42) ``continue`` past the remaining steps while it is set, then
still decode the whole clip (for an 81-frame Wan clip that is the fp32 VAE over every frame, seconds
of GPU time for a result that is thrown away). Raising stops at once; the pipelines' own context
managers (progress bar, cache context) close on the way out, and the next call resets the flag.

**Out of memory.** :func:`run_translating_oom` turns ``torch.cuda.OutOfMemoryError`` (and the
``RuntimeError`` "out of memory" / "can't allocate memory" forms, and ``MemoryError``) into
:class:`~refgen.errors.OutOfMemory` *after* dropping the traceback, running ``gc.collect()`` and
``torch.cuda.empty_cache()``, so the worker that caught it has its memory back for the next task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from refgen.backends.diffusers_loading import free_memory
from refgen.errors import GenerationCancelled, OutOfMemory
from refgen.generation import CancelToken, GenerationJob, ProgressFn
from refgen.media.music import synthesize_music

SAMPLE_RATE = 48_000


def is_out_of_memory(exc: BaseException, torch: Any | None = None) -> bool:
    if isinstance(exc, MemoryError):
        return True
    oom_type = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    if isinstance(oom_type, type) and isinstance(exc, oom_type):
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return "out of memory" in text or "can't allocate memory" in text
    return False


def run_translating_oom(torch: Any, call: Callable[[], Any], *, hint: str = "") -> Any:
    """``call()``; an out-of-memory error becomes OutOfMemory once the memory it held is freed."""
    failure = ""
    try:
        return call()
    except BaseException as exc:
        if not is_out_of_memory(exc, torch):
            raise
        failure = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        exc.__traceback__ = None  # the frames hold the tensors; drop them before freeing
    free_memory(torch)
    message = f"out of accelerator memory: {failure}"
    raise OutOfMemory(f"{message}; {hint}" if hint else message)


class StepControl:
    """A ``callback_on_step_end``: reports progress after each step and, when the cancel token is
    set, sets the pipeline's interrupt flag and raises GenerationCancelled (no further step, no decode).

    Progress is ``(step, steps + 1)``: the last unit is the decode and post-processing, reported
    with :meth:`done`.
    """

    def __init__(self, steps: int, progress: ProgressFn, cancel: CancelToken) -> None:
        self.steps = steps
        self.total = steps + 1
        self._progress = progress
        self._cancel = cancel
        self.interrupted = False
        self.calls = 0
        self.offset = 0  # steps done by earlier runs of the same job (a clip made in segments)

    def start(self) -> None:
        if self._cancel.is_cancelled():
            raise GenerationCancelled()
        self._progress(0, self.total)

    def __call__(
        self, pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls += 1
        self._progress(min(self.offset + step + 1, self.steps), self.total)
        if self.interrupted or self._cancel.is_cancelled():
            pipe._interrupt = True
            self.interrupted = True
            raise GenerationCancelled()
        return {}

    def finish(self) -> None:
        """After the pipeline returned: discard an interrupted result, else report completion."""
        if self.interrupted or self._cancel.is_cancelled():
            raise GenerationCancelled()
        self._progress(self.total, self.total)


def generator_for(torch: Any, seed: int) -> Any:
    """A CPU ``torch.Generator`` seeded with the job's seed: the same initial noise on any device."""
    return torch.Generator(device="cpu").manual_seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)


def music_for(job: GenerationJob) -> npt.NDArray[np.float32] | None:
    """The seeded background music (``bgm``) for a video job, or None."""
    if not job.bgm:
        return None
    return synthesize_music(job.frame_count * SAMPLE_RATE // job.fps, job.seed, SAMPLE_RATE)
