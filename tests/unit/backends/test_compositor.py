from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from refgen.backends.base import GenerationBackend
from refgen.backends.compositor import CompositorBackend
from refgen.domain import TaskKind
from refgen.errors import GenerationCancelled
from refgen.generation import GenerationJob, ImageOutput, VideoOutput
from refgen.media.camera import movement_factor
from refgen.media.images import load_rgba
from refgen.media.layout import Box
from refgen.media.scene import Scene
from refgen.media.soundtrack import speech_start
from refgen.media.video import VideoTarget, encode_output, probe, read_frames
from tests.unit.media.photos import landscape, sample_photo, subject_on_clutter, write_rgb
from tests.unit.media.speech_checks import need_speech, voiced_share, window_rms, zero_crossings_per_second

JobFactory = Callable[..., GenerationJob]
SUBJECT_COLORS = ((220, 30, 30), (30, 60, 220), (40, 190, 60))


def _noop(step: int, total: int) -> None:
    pass


def _video(backend: CompositorBackend, job: GenerationJob, cancel: object) -> list[np.ndarray]:
    out = backend.generate(job, _noop, cancel)  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput)
    return list(out.frames)


def _share_near(frame: np.ndarray, color: tuple[int, int, int], tol: int = 40) -> float:
    return float(np.mean(np.all(np.abs(frame.astype(int) - color) < tol, axis=2)))


def _motion(frames: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(a.astype(np.int16) - b).mean() for a, b in itertools.pairwise(frames)]))


@pytest.fixture(scope="module")
def backend() -> CompositorBackend:
    b = CompositorBackend()
    b.load()
    return b


def test_compositor_meets_the_backend_contract(backend: CompositorBackend) -> None:
    assert isinstance(backend, GenerationBackend)
    assert backend.name == "compositor"
    assert backend.supports(TaskKind.VIDEO) and backend.supports(TaskKind.IMAGE)


def test_compositor_video_frames_count_shape_and_colours(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    progress: list[tuple[int, int]] = []
    out = backend.generate(video_job(references), lambda i, n: progress.append((i, n)), cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput)
    assert out.frame_count == 24 and out.fps == 24 and out.audio is None
    frames = list(out.frames)
    assert len(frames) == 24
    assert all(f.shape == (180, 320, 3) and f.dtype == np.uint8 for f in frames)
    for color in SUBJECT_COLORS:
        assert _share_near(frames[0], color) > 0.02, color
        assert _share_near(frames[-1], color) > 0.02, color
    # subjects in the order given: red left of blue left of green
    centres = [
        np.nonzero(np.all(np.abs(frames[0].astype(int) - c) < 40, axis=2))[1].mean() for c in SUBJECT_COLORS
    ]
    assert centres == sorted(centres)
    assert progress[-1] == (24, 24) and len(progress) >= 4


def test_compositor_is_deterministic_per_seed(
    references: tuple[Path, ...], video_job: JobFactory, cancel_token: Callable[..., object]
) -> None:
    a = _video(CompositorBackend(), video_job(references, seed=11), cancel_token())
    b = _video(CompositorBackend(), video_job(references, seed=11), cancel_token())
    c = _video(CompositorBackend(), video_job(references, seed=12), cancel_token())
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert np.abs(a[0].astype(int) - c[0]).mean() > 5
    assert np.abs(a[-1].astype(int) - c[-1]).mean() > 5


def test_compositor_movement_small_less_than_large(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    motion = {
        amp: _motion(_video(backend, video_job(references, amplitude=amp), cancel_token()))
        for amp in ("small", "medium", "large")
    }
    assert 0 < motion["small"] < motion["medium"] < motion["large"]


def test_compositor_motion_is_smooth(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    frames = _video(backend, video_job(references, amplitude="large", duration=2), cancel_token())
    steps = [np.abs(a.astype(np.int16) - b).mean() for a, b in itertools.pairwise(frames)]
    assert max(steps) < 4 * (np.median(steps) + 0.5)


def test_movement_factor_auto_reads_the_prompt() -> None:
    assert movement_factor("auto", "two kids run and jump on the beach") == movement_factor("large", "")
    assert movement_factor("auto", "a calm portrait by the window") == movement_factor("small", "")
    assert movement_factor("auto", "two friends by a lake") == movement_factor("medium", "")


def test_compositor_cancel_raises(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    token = cancel_token(after=8)
    out = backend.generate(video_job(references), _noop, token)  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput)
    produced = 0
    with pytest.raises(GenerationCancelled):
        for _ in out.frames:
            produced += 1
    assert produced < out.frame_count


def test_compositor_cancel_before_start(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    with pytest.raises(GenerationCancelled):
        backend.generate(video_job(references), _noop, cancel_token(after=0))  # type: ignore[arg-type]


def test_compositor_image_job(
    backend: CompositorBackend, references: tuple[Path, ...], cancel_token: Callable[..., object]
) -> None:
    job = GenerationJob(
        task_id="i1",
        kind=TaskKind.IMAGE,
        model="viduq2",
        prompt="three friends",
        references=references,
        width=400,
        height=300,
        seed=3,
    )
    out = backend.generate(job, _noop, cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, ImageOutput)
    assert out.image.shape == (300, 400, 3) and out.image.dtype == np.uint8
    for color in SUBJECT_COLORS:
        assert _share_near(out.image, color) > 0.02


def test_compositor_text_only_image_job(
    backend: CompositorBackend, cancel_token: Callable[..., object]
) -> None:
    def job(prompt: str, seed: int) -> GenerationJob:
        return GenerationJob(
            task_id="i2",
            kind=TaskKind.IMAGE,
            model="viduq2",
            prompt=prompt,
            references=(),
            width=320,
            height=180,
            seed=seed,
        )

    blue = backend.generate(job("a blue sea under a blue sky", 1), _noop, cancel_token())  # type: ignore[arg-type]
    red = backend.generate(job("a red desert at sunset", 1), _noop, cancel_token())  # type: ignore[arg-type]
    again = backend.generate(job("a red desert at sunset", 1), _noop, cancel_token())  # type: ignore[arg-type]
    assert isinstance(blue, ImageOutput) and isinstance(red, ImageOutput) and isinstance(again, ImageOutput)
    assert blue.image.shape == (180, 320, 3)
    assert np.array_equal(red.image, again.image)
    b_mean, r_mean = blue.image.reshape(-1, 3).mean(axis=0), red.image.reshape(-1, 3).mean(axis=0)
    assert b_mean[2] > b_mean[0] and r_mean[0] > r_mean[2]


def test_compositor_bgm_audio_matches_video_length(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    out = backend.generate(video_job(references, bgm=True, duration=2), _noop, cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput) and out.audio is not None
    assert out.audio.shape == (2, 2 * out.sample_rate) and out.audio.dtype == np.float32
    assert out.sample_rate == 48_000
    assert 0.05 < float(np.abs(out.audio).max()) <= 1.0


def test_compositor_masks_are_cached_by_content(
    references: tuple[Path, ...], video_job: JobFactory, cancel_token: Callable[..., object], tmp_path: Path
) -> None:
    backend = CompositorBackend()
    backend.generate(video_job(references[:1]), _noop, cancel_token())  # type: ignore[arg-type]
    copy = tmp_path / "copy.png"
    copy.write_bytes(references[0].read_bytes())
    started = time.perf_counter()
    backend.generate(video_job((copy,)), _noop, cancel_token())  # type: ignore[arg-type]
    assert len(backend._masks) == 1  # same bytes, one cached mask
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("count", [1, 2, 4, 5, 7])
def test_compositor_lays_out_1_to_7_subjects(
    backend: CompositorBackend,
    make_reference: Callable[..., Path],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
    tmp_path: Path,
    count: int,
) -> None:
    refs = tuple(
        make_reference(tmp_path / f"{i}.png", SUBJECT_COLORS[i % 3], alpha=True, size=(240 + 40 * i, 320))
        for i in range(count)
    )
    out = backend.generate(
        GenerationJob(
            task_id="i",
            kind=TaskKind.IMAGE,
            model="viduq2",
            prompt="p",
            references=refs,
            width=320,
            height=568 if count == 4 else 180,
            seed=1,
        ),
        _noop,
        cancel_token(),  # type: ignore[arg-type]
    )
    assert isinstance(out, ImageOutput)
    for i in range(min(count, 3)):
        assert _share_near(out.image, SUBJECT_COLORS[i]) > 0.005


@pytest.mark.slow
def test_compositor_renders_1080p_quickly(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    out = backend.generate(video_job(references, width=1920, height=1080, duration=2), _noop, cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput)
    started = time.perf_counter()
    count = sum(1 for f in out.frames if f.shape == (1080, 1920, 3))
    elapsed = time.perf_counter() - started
    assert count == 48
    assert elapsed < 48 / 10  # well above 10 fps even on a small CI machine


# ---------------------------------------------------------------- layout, motion, scenery, encode


def _scene(backend: CompositorBackend, job: GenerationJob) -> Scene:
    return Scene(job, backend.references(job.references), still=job.kind == TaskKind.IMAGE)


@pytest.mark.parametrize(
    ("width", "height", "count"), [(320, 180, 3), (180, 320, 3), (320, 180, 5), (240, 240, 2)]
)
def test_compositor_subjects_never_overlap_or_leave_the_frame(
    backend: CompositorBackend,
    make_reference: Callable[..., Path],
    video_job: JobFactory,
    tmp_path: Path,
    width: int,
    height: int,
    count: int,
) -> None:
    refs = tuple(
        make_reference(tmp_path / f"{i}.png", SUBJECT_COLORS[i % 3], alpha=True, size=(200 + 60 * i, 300))
        for i in range(count)
    )
    for seed in (1, 2, 3):
        scene = _scene(
            backend, video_job(refs, amplitude="large", width=width, height=height, seed=seed, duration=4)
        )
        frame_box = Box(0, 0, width, height)
        for i in range(0, 96, 3):
            boxes = scene.boxes(i / 95, i / 24)
            assert all(b.inside(frame_box) for b in boxes), (seed, i)
            assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2)), (seed, i)


def test_compositor_keeps_each_subjects_aspect_ratio(
    backend: CompositorBackend, make_reference: Callable[..., Path], video_job: JobFactory, tmp_path: Path
) -> None:
    wide = make_reference(tmp_path / "wide.png", SUBJECT_COLORS[0], alpha=True, size=(400, 160))
    tall = make_reference(tmp_path / "tall.png", SUBJECT_COLORS[1], alpha=True, size=(150, 420))
    expected = []
    for path in (wide, tall):
        alpha = load_rgba(path)[..., 3]
        ys, xs = np.nonzero(alpha > 24)
        expected.append((xs.max() + 1 - xs.min()) / (ys.max() + 1 - ys.min()))
    for width, height in ((320, 180), (180, 320)):
        scene = _scene(backend, video_job((wide, tall), width=width, height=height))
        for box, aspect in zip(scene.boxes(0, 0), expected, strict=True):
            assert box.width / box.height == pytest.approx(aspect, rel=1e-6)


@pytest.mark.slow
def test_compositor_draws_subjects_recognisably_from_photos(
    backend: CompositorBackend, cancel_token: Callable[..., object], tmp_path: Path
) -> None:
    rgb, _ = subject_on_clutter(3)
    refs = [write_rgb(tmp_path / "clutter.png", rgb)]
    refs += [p for p in (sample_photo("astronaut.png"), sample_photo("coffee.png")) if p is not None]
    job = GenerationJob("i", TaskKind.IMAGE, "viduq2", "friends", tuple(refs), 640, 360, seed=4)
    scene = _scene(backend, job)
    image = scene.frame(0, 0)
    for ref, box in zip(backend.references(job.references), scene.boxes(0, 0), strict=True):
        mask = ref.cutout.mask
        ys, xs = np.nonzero(mask > 24)
        crop = ref.rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy()
        crop[..., 3] = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        x0, y0 = round(box.x0), round(box.y0)
        size = (round(box.x1) - x0, round(box.y1) - y0)
        want = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        got = image[y0 : y0 + size[1], x0 : x0 + size[0]]
        solid = want[..., 3] > 240
        assert solid.mean() > 0.2
        # the same picture, up to sub-pixel placement (compared slightly blurred)
        blur_got = cv2.GaussianBlur(got, (0, 0), 1.5).astype(int)
        blur_want = cv2.GaussianBlur(np.ascontiguousarray(want[..., :3]), (0, 0), 1.5).astype(int)
        inner = cv2.erode(solid.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert np.abs(blur_got - blur_want)[inner].mean() < 8


def test_compositor_uses_a_scenery_reference_as_the_backdrop(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    cancel_token: Callable[..., object],
    tmp_path: Path,
) -> None:
    scenery = write_rgb(tmp_path / "land.png", landscape())
    job = GenerationJob("i", TaskKind.IMAGE, "viduq2", "p", (scenery, *references[:2]), 480, 270, seed=2)
    scene = _scene(backend, job)
    assert len(scene.layers) == 2  # the landscape is not a subject
    out = backend.generate(job, _noop, cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, ImageOutput)
    sky = out.image[:20, :40].reshape(-1, 3).mean(axis=0)
    assert sky[2] > sky[0] + 40  # the landscape's blue sky, top left
    for color in SUBJECT_COLORS[:2]:
        assert _share_near(out.image, color) > 0.01


def _decode(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    # read_frames converts YUV with OpenCV: FFmpeg's scaler can differ in the last bit between two
    # decodes of one file (it depends on the buffers' memory alignment)
    frames: list[np.ndarray] = list(read_frames(path))
    audio = []
    with av.open(str(path)) as container:
        if container.streams.audio:
            for chunk in container.decode(audio=0):
                audio.append(chunk.to_ndarray())
    return frames, (np.concatenate(audio, axis=1) if audio else np.zeros((2, 0), np.float32))


def _encode(backend: CompositorBackend, job: GenerationJob, path: Path) -> Path:
    out = backend.generate(job, _noop, _Never())
    assert isinstance(out, VideoOutput)
    encode_output(out, [VideoTarget(path)])
    return path


class _Never:
    def is_cancelled(self) -> bool:
        return False


@pytest.mark.slow
def test_compositor_encoded_output_is_deterministic_frames_and_audio(
    references: tuple[Path, ...], video_job: JobFactory, tmp_path: Path
) -> None:
    a = _decode(
        _encode(CompositorBackend(), video_job(references, seed=5, bgm=True, duration=2), tmp_path / "a.mp4")
    )
    b = _decode(
        _encode(CompositorBackend(), video_job(references, seed=5, bgm=True, duration=2), tmp_path / "b.mp4")
    )
    c = _decode(
        _encode(CompositorBackend(), video_job(references, seed=6, bgm=True, duration=2), tmp_path / "c.mp4")
    )
    assert len(a[0]) == 48 and a[0][0].shape == (180, 320, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True))
    assert a[1].shape[1] >= 2 * 48_000 - 1024 and np.array_equal(a[1], b[1])
    assert np.abs(a[0][-1].astype(int) - c[0][-1]).mean() > 5
    assert np.abs(a[1][:, : c[1].shape[1]] - c[1][:, : a[1].shape[1]]).mean() > 0.005
    info = probe(tmp_path / "a.mp4")
    assert info.frame_count == 48 and info.duration == pytest.approx(2.0) and info.audio_codec == "aac"


def _flow(frames: list[np.ndarray]) -> float:
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    mags = []
    for a, b in itertools.pairwise(grey):
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        mags.append(float(np.linalg.norm(flow, axis=2).mean()))
    return float(np.mean(mags))


@pytest.mark.slow
def test_compositor_amplitudes_order_by_optical_flow_in_decoded_frames(
    backend: CompositorBackend, tmp_path: Path, video_job: JobFactory
) -> None:
    rgb, _ = subject_on_clutter(1)
    refs = (
        write_rgb(tmp_path / "a.png", rgb),
        write_rgb(tmp_path / "b.png", subject_on_clutter(2, colour=(40, 90, 200))[0]),
    )
    flow = {}
    for amp in ("small", "medium", "large"):
        frames, _ = _decode(
            _encode(backend, video_job(refs, amplitude=amp, duration=2), tmp_path / f"{amp}.mp4")
        )
        flow[amp] = _flow(frames)
        steps = [np.abs(a.astype(np.int16) - b).mean() for a, b in itertools.pairwise(frames)]
        assert max(steps) < 3 * np.mean(steps) + 1.0, amp  # smooth: no frame jumps
    assert 0 < flow["small"] < flow["medium"] < flow["large"], flow
    assert flow["large"] > 1.5 * flow["small"]


def test_movement_factor_auto_reads_more_verbs() -> None:
    large, small, medium = (movement_factor(a, "") for a in ("large", "small", "medium"))
    assert movement_factor("auto", "a dog chasing a ball") == large
    assert movement_factor("auto", "a skier racing downhill") == large
    assert movement_factor("auto", "a cat sleeping on a sofa") == small
    assert movement_factor("auto", "a woman posing for a portrait") == small
    assert movement_factor("auto", "a red car") == medium


def test_load_warms_up_without_filling_the_cut_out_cache() -> None:
    backend = CompositorBackend()
    backend.load()
    assert not backend._masks


def test_compositor_audio_render_carries_speech_where_it_should(
    references: tuple[Path, ...], video_job: JobFactory, tmp_path: Path
) -> None:
    need_speech()
    job = video_job(references, duration=3, prompt='The red one says "Hello, friends, welcome home"')
    path = _encode(CompositorBackend(), replace(job, audio=True), tmp_path / "speech.mp4")
    info = probe(path)
    assert info.has_audio and info.audio_sample_rate == 48_000
    _, audio = _decode(path)
    mono = audio.mean(axis=0)
    assert abs(mono.size - 3 * 48_000) < 2048
    start = speech_start(3 * 48_000, 48_000)
    rms = window_rms(mono, 48_000)  # 20 ms windows
    lead = start // 960
    silence = float(np.median(rms[2 : lead - 1]))  # the quiet bed before the first word
    speaking = rms[lead : lead + 50]
    assert float(np.median(speaking)) > 10 * silence
    assert voiced_share(mono[start:], 48_000) > 0.4
    assert 300 < zero_crossings_per_second(mono[start:], 48_000) < 6000
