"""Running a job on a diffusers pipeline, without torch: out of memory, step control, music."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from refgen.backends import diffusers_running
from refgen.domain import TaskKind
from refgen.errors import GenerationCancelled, OutOfMemory
from refgen.generation import GenerationJob


class FakeOOM(RuntimeError):
    pass


FAKE_TORCH = SimpleNamespace(
    cuda=SimpleNamespace(OutOfMemoryError=FakeOOM, is_available=lambda: False, empty_cache=lambda: None)
)


class Flag:
    def __init__(self, cancelled: bool = False) -> None:
        self.cancelled = cancelled

    def is_cancelled(self) -> bool:
        return self.cancelled


def test_run_translating_oom_frees_memory_and_raises_out_of_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    freed: list[object] = []
    monkeypatch.setattr(diffusers_running, "free_memory", freed.append)

    def boom() -> None:
        raise FakeOOM("CUDA out of memory. Tried to allocate 20.00 GiB")

    with pytest.raises(OutOfMemory, match=r"Tried to allocate 20\.00 GiB; lower it") as info:
        diffusers_running.run_translating_oom(FAKE_TORCH, boom, hint="lower it")
    assert info.value.reason == "OutOfMemory" and info.value.__context__ is None
    assert freed == [FAKE_TORCH]
    for exc in (RuntimeError("DefaultCPUAllocator: can't allocate memory"), MemoryError()):
        assert diffusers_running.is_out_of_memory(exc, FAKE_TORCH)
    assert not diffusers_running.is_out_of_memory(RuntimeError("shape mismatch"), FAKE_TORCH)
    assert diffusers_running.run_translating_oom(FAKE_TORCH, lambda: 5) == 5

    def other() -> None:
        raise ValueError("not memory")

    with pytest.raises(ValueError, match="not memory"):
        diffusers_running.run_translating_oom(FAKE_TORCH, other)


def test_step_control_reports_progress_and_interrupts_on_cancel() -> None:
    reports: list[tuple[int, int]] = []
    cancel = Flag()
    control = diffusers_running.StepControl(3, lambda s, t: reports.append((s, t)), cancel)
    pipe = SimpleNamespace(_interrupt=False)
    control.start()
    assert control(pipe, 0, 999, {"latents": 1}) == {}
    assert not pipe._interrupt
    cancel.cancelled = True
    with pytest.raises(GenerationCancelled):  # out of the pipeline's loop: no more steps, no decode
        control(pipe, 1, 500, {})
    assert pipe._interrupt and control.interrupted
    assert reports == [(0, 4), (1, 4), (2, 4)]
    with pytest.raises(GenerationCancelled):
        control.finish()
    with pytest.raises(GenerationCancelled):
        diffusers_running.StepControl(3, lambda s, t: None, Flag(True)).start()
    done = diffusers_running.StepControl(1, lambda s, t: reports.append((s, t)), Flag())
    done.finish()
    assert reports[-1] == (2, 2)


def test_music_only_when_asked() -> None:
    job = GenerationJob("t", TaskKind.VIDEO, "viduq1", "p", (), 64, 36, seed=4, duration=2)
    assert diffusers_running.music_for(job) is None
    audio = diffusers_running.music_for(
        GenerationJob("t", TaskKind.VIDEO, "viduq1", "p", (), 64, 36, 4, 2, bgm=True)
    )
    assert audio is not None and audio.shape == (2, 2 * 48_000) and audio.dtype == np.float32
