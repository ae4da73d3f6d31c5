"""The shared diffusers machinery that needs no torch: options, sizes, re-timing, collages, OOM, steps."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from refgen.backends import diffusers_common as common
from refgen.backends.base import GenerationJob
from refgen.backends.registry import ModelMapError, build_backend, model_routes
from refgen.domain import TaskKind
from refgen.errors import BackendUnavailable, GenerationCancelled, OutOfMemory


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


def test_parse_options_accepts_the_common_options() -> None:
    parsed = common.parse_options(
        "x",
        {
            "dtype": "bf16",
            "device": "cuda:1",
            "steps": "8",
            "guidance": 3,
            "offload": True,
            "compile": True,
            "cache": 0.08,
            "attention": "flash",
            "vae_tiling": "true",
        },
        {},
    )
    assert parsed == {
        "dtype": "bfloat16",
        "device": "cuda:1",
        "steps": 8,
        "guidance": 3.0,
        "offload": "model",
        "compile": "blocks",
        "cache": {"type": "first_block", "threshold": 0.08},
        "attention": "flash",
        "vae_tiling": True,
    }
    taylor = {"type": "taylorseer", "cache_interval": 2}
    assert common.parse_options("x", {"cache": taylor}, {}) == {"cache": taylor}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": "red"}, "unknown option 'colour'"),
        ({"steps": 0}, "at least 1"),
        ({"steps": True}, "must be an integer"),
        ({"dtype": "int8"}, "must be one of"),
        ({"offload": "disk"}, "must be one of"),
        ({"attention": "flash_hub"}, "downloads kernels"),
        ({"fp8": True, "offload": "model"}, "cannot be combined"),
        ({"guidance": "much"}, "must be a number"),
        ({"cache": {"type": "magic"}}, "first-block cache threshold"),
    ],
)
def test_parse_options_refuses_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(common.OptionError, match=message):
        common.parse_options("x", options, {})


def test_registry_reports_bad_options_as_model_map_errors() -> None:
    routes = model_routes({"viduq1": {"backend": "wan-vace", "weights": "/nowhere", "options": {"bogus": 1}}})
    with pytest.raises(ModelMapError, match="unknown option 'bogus'"):
        build_backend(routes[(TaskKind.VIDEO, "viduq1")])


def test_registry_knows_the_diffusers_backends_and_their_kinds() -> None:
    routes = model_routes(
        {
            "viduq1": {"backend": "wan-vace", "weights": "/w/wan"},
            "viduq2": {"backend": "flux2-klein", "weights": "/w/flux"},
        }
    )
    assert set(routes) == {(TaskKind.VIDEO, "viduq1"), (TaskKind.IMAGE, "viduq2")}
    assert routes[(TaskKind.VIDEO, "viduq1")].kinds == {TaskKind.VIDEO}
    assert routes[(TaskKind.IMAGE, "viduq2")].kinds == {TaskKind.IMAGE}
    with pytest.raises(ModelMapError, match="needs 'weights'"):
        model_routes({"viduq1": {"backend": "wan-vace"}})


def test_backend_modules_import_without_torch() -> None:
    code = (
        "import sys\n"
        "import refgen.backends.wan_vace, refgen.backends.flux2_klein, refgen.backends.registry\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "diffusers", None)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'refgen\[gpu\]'"):
        common.import_diffusers()


def test_check_weights_explains_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="does not exist"):
        common.check_weights(tmp_path / "missing", ["WanVACEPipeline"], "wan-vace")
    with pytest.raises(BackendUnavailable, match=r"no model_index\.json"):
        common.check_weights(tmp_path, ["WanVACEPipeline"], "wan-vace")
    (tmp_path / "model_index.json").write_text('{"_class_name": "WanPipeline"}')
    with pytest.raises(BackendUnavailable, match="holds a WanPipeline pipeline"):
        common.check_weights(tmp_path, ["WanVACEPipeline"], "wan-vace")
    (tmp_path / "model_index.json").write_text('{"_class_name": "WanVACEPipeline"}')
    assert common.check_weights(str(tmp_path), ["WanVACEPipeline"], "wan-vace") == tmp_path


@pytest.mark.parametrize(
    ("width", "height", "area", "expected"),
    [
        (1920, 1080, 1280 * 720, (1280, 720)),
        (1080, 1920, 1280 * 720, (720, 1280)),
        (640, 360, 832 * 480, (848, 480)),
        (1080, 1080, 832 * 480, (624, 624)),
        (2520, 1080, 1024 * 1024, (1568, 672)),
    ],
)
def test_native_size_keeps_the_ratio_on_the_grid(
    width: int, height: int, area: int, expected: tuple[int, int]
) -> None:
    w, h = common.native_size(width, height, area, 16)
    assert (w, h) == expected
    assert w % 16 == 0 and h % 16 == 0
    assert common.native_size(640, 360, 10**7, 16, at_most_output=True) == (640, 352)


def test_cover_resize_fills_the_output_without_stretching() -> None:
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :8] = 255  # a white band at the left edge: cropped away when the ratio narrows
    frame[20:28, 28:36] = (255, 0, 0)  # a red square at the centre stays square
    out = common.cover_resize(frame, 96, 96)
    assert out.shape == (96, 96, 3) and out.dtype == np.uint8
    red = np.argwhere((out[..., 0] > 200) & (out[..., 1] < 60))
    hh, ww = np.ptp(red[:, 0]) + 1, np.ptp(red[:, 1]) + 1
    assert abs(int(hh) - int(ww)) <= 2
    assert out[:, :4].max() < 128  # the left band did not survive the centre crop
    assert common.cover_resize(frame, 64, 48) is frame
    assert common.cover_resize(frame, 1920, 1080).shape == (1080, 1920, 3)


def test_retime_makes_exactly_the_frame_count_with_aligned_ends() -> None:
    source = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (0, 80, 160, 240)])
    for mode in common.RETIME_MODES:
        out = list(common.retime(source, 24, mode))
        assert len(out) == 24
        assert out[0].max() == 0 and out[-1].min() == 240
        values = [int(f[0, 0, 0]) for f in out]
        assert values == sorted(values)
    blended = [int(f[0, 0, 0]) for f in common.retime(source, 7, "blend")]
    assert blended == [0, 40, 80, 120, 160, 200, 240]
    assert [int(f[0, 0, 0]) for f in common.retime(source[:1], 3)] == [0, 0, 0]


def test_group_sizes_keep_the_first_references_alone() -> None:
    assert common.group_sizes(3, 4) == [1, 1, 1]
    assert common.group_sizes(5, 4) == [1, 1, 1, 2]
    assert common.group_sizes(7, 4) == [1, 2, 2, 2]
    assert common.group_sizes(7, 3) == [2, 2, 3]
    assert sum(common.group_sizes(7, 1)) == 7


def test_prepare_references_collages_extra_references_and_drops_none(
    tmp_path: Path, make_reference: Callable[..., Path]
) -> None:
    colours = [(220, 30, 30), (30, 60, 220), (40, 190, 60), (230, 200, 40), (150, 60, 170)]
    paths = [make_reference(tmp_path / f"r{i}.png", c, alpha=i == 4) for i, c in enumerate(colours)]
    images, sizes = common.prepare_references(paths, 3, (160, 90))
    assert sizes == [1, 2, 2] and len(images) == 3
    assert all(im.mode == "RGB" for im in images)
    assert images[0].size == (240, 320)  # alone: kept as it is
    for image, pair in ((images[1], colours[1:3]), (images[2], colours[3:5])):
        assert image.size == (160, 90)
        pixels = np.asarray(image).reshape(-1, 3).astype(int)
        for colour in pair:  # both subjects of the pair are on the collage
            assert (np.abs(pixels - np.array(colour)).sum(axis=1) < 30).sum() > 50
    corner = np.asarray(images[2])[0, 0]
    assert corner.min() > 240  # transparency and margins are white


def test_collage_of_one_is_the_image_itself() -> None:
    image = Image.new("RGB", (10, 20))
    assert common.collage([image], 100, 100) is image


def test_run_translating_oom_frees_memory_and_raises_out_of_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    freed: list[object] = []
    monkeypatch.setattr(common, "free_memory", freed.append)

    def boom() -> None:
        raise FakeOOM("CUDA out of memory. Tried to allocate 20.00 GiB")

    with pytest.raises(OutOfMemory, match=r"Tried to allocate 20\.00 GiB; lower it") as info:
        common.run_translating_oom(FAKE_TORCH, boom, hint="lower it")
    assert info.value.reason == "OutOfMemory" and info.value.__context__ is None
    assert freed == [FAKE_TORCH]
    for exc in (RuntimeError("DefaultCPUAllocator: can't allocate memory"), MemoryError()):
        assert common.is_out_of_memory(exc, FAKE_TORCH)
    assert not common.is_out_of_memory(RuntimeError("shape mismatch"), FAKE_TORCH)
    assert common.run_translating_oom(FAKE_TORCH, lambda: 5) == 5

    def other() -> None:
        raise ValueError("not memory")

    with pytest.raises(ValueError, match="not memory"):
        common.run_translating_oom(FAKE_TORCH, other)


def test_step_control_reports_progress_and_interrupts_on_cancel() -> None:
    reports: list[tuple[int, int]] = []
    cancel = Flag()
    control = common.StepControl(3, lambda s, t: reports.append((s, t)), cancel)
    pipe = SimpleNamespace(_interrupt=False)
    control.start()
    assert control(pipe, 0, 999, {"latents": 1}) == {}
    assert not pipe._interrupt
    cancel.cancelled = True
    control(pipe, 1, 500, {})
    assert pipe._interrupt and control.interrupted
    assert reports == [(0, 4), (1, 4), (2, 4)]
    with pytest.raises(GenerationCancelled):
        control.finish()
    with pytest.raises(GenerationCancelled):
        common.StepControl(3, lambda s, t: None, Flag(True)).start()
    done = common.StepControl(1, lambda s, t: reports.append((s, t)), Flag())
    done.finish()
    assert reports[-1] == (2, 2)


def test_music_only_when_asked() -> None:
    job = GenerationJob("t", TaskKind.VIDEO, "viduq1", "p", (), 64, 36, seed=4, duration=2)
    assert common.music_for(job) is None
    audio = common.music_for(GenerationJob("t", TaskKind.VIDEO, "viduq1", "p", (), 64, 36, 4, 2, bgm=True))
    assert audio is not None and audio.shape == (2, 2 * 48_000) and audio.dtype == np.float32
