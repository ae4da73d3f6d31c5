"""The compositor's video family: img2video, start-end2video, text2video and the subjects form.

Videos are encoded and decoded for real (``refgen.media.video``), so what is checked is what a
client sees: the first frame of img2video is its picture, start-end2video starts and ends on its
pictures, text2video moves and its ``anime`` style looks different.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from refgen.backends.compositor import CompositorBackend
from refgen.domain import TaskKind
from refgen.generation import GenerationJob, SubjectReferences, VideoOutput
from refgen.media.backdrop import cover
from refgen.media.images import load_rgba
from refgen.media.layout import Box
from refgen.media.scene import Scene
from refgen.media.video import VideoTarget, encode_output, read_frames
from tests.unit.media.photos import landscape, subject_on_clutter, write_rgb

Frames = list[np.ndarray]


class _Never:
    def is_cancelled(self) -> bool:
        return False


def _noop(step: int, total: int) -> None:
    pass


@pytest.fixture(scope="module")
def backend() -> CompositorBackend:
    b = CompositorBackend()
    b.load()
    return b


def _job(kind: TaskKind, refs: tuple[Path, ...], **options: object) -> GenerationJob:
    settings: dict[str, object] = {
        "width": 360,
        "height": 240,
        "seed": 5,
        "duration": 1,
        "movement_amplitude": "medium",
        "prompt": "",
    }
    settings.update(options)
    return GenerationJob(task_id="f", kind=kind, model="viduq1", references=refs, **settings)  # type: ignore[arg-type]


def _decoded(backend: CompositorBackend, job: GenerationJob, path: Path) -> Frames:
    out = backend.generate(job, _noop, _Never())
    assert isinstance(out, VideoOutput)
    encode_output(out, [VideoTarget(path)])
    frames = list(read_frames(path))
    assert len(frames) == job.frame_count and frames[0].shape == (job.height, job.width, 3)
    return frames


def _rendered(job: GenerationJob) -> Frames:
    out = CompositorBackend().generate(job, _noop, _Never())
    assert isinstance(out, VideoOutput)
    return list(out.frames)


def _assert_same_video(job: GenerationJob, tmp_path: Path) -> None:
    """Same job and seed, two fresh backends: identical frames, and the same decoded video.

    The frames handed to the encoder are compared exactly. The decoded videos are compared to within
    a hair: the libx264 build used here does not always produce the same bitstream for identical
    input frames when the machine is busy (seen with ``threads=1`` too), so an exact comparison of
    decoded pixels would test the encoder's scheduling, not the renderer (its differences stay
    well under 1 on 0–255 on average; another seed differs by far more).
    """
    a, b = _rendered(job), _rendered(job)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    da = _decoded(CompositorBackend(), job, tmp_path / "a.mp4")
    db = _decoded(CompositorBackend(), job, tmp_path / "b.mp4")
    for x, y in zip(da, db, strict=True):
        assert float(np.abs(x.astype(np.int16) - y).mean()) < 2


def _thumb(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (48, 32), interpolation=cv2.INTER_AREA).astype(np.float32)


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of small thumbnails, 0–255."""
    return float(np.abs(_thumb(a) - _thumb(b)).mean())


def _picture(path: Path, width: int, height: int) -> np.ndarray:
    return cover(load_rgba(path)[..., :3], width, height)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return write_rgb(tmp_path / "photo.png", subject_on_clutter(1, size=(360, 240))[0])


@pytest.fixture
def other_photo(tmp_path: Path) -> Path:
    return write_rgb(tmp_path / "other.png", subject_on_clutter(2, size=(330, 240), colour=(40, 90, 200))[0])


def test_compositor_supports_every_kind(backend: CompositorBackend) -> None:
    assert all(backend.supports(kind) for kind in TaskKind)


# ---------------------------------------------------------------- img2video


def test_compositor_img2video_starts_on_the_picture_and_moves(
    backend: CompositorBackend, photo: Path, tmp_path: Path
) -> None:
    moved = {}
    for amplitude in ("small", "large"):
        job = _job(TaskKind.IMAGE_TO_VIDEO, (photo,), movement_amplitude=amplitude, duration=2)
        frames = _decoded(backend, job, tmp_path / f"{amplitude}.mp4")
        assert _mad(frames[0], _picture(photo, 360, 240)) < 20
        # never a frozen still: every quarter of a second shows a change, to the very end
        assert all(np.abs(frames[i].astype(np.int16) - frames[i - 6]).mean() > 0.05 for i in range(6, 48))
        moved[amplitude] = float(np.abs(frames[-1].astype(np.int16) - frames[0]).mean())
    assert 0 < moved["small"] < moved["large"]


def test_compositor_img2video_subject_moves_against_its_background(
    backend: CompositorBackend, photo: Path
) -> None:
    job = _job(TaskKind.IMAGE_TO_VIDEO, (photo,), movement_amplitude="large")
    clip = backend.generate(job, _noop, _Never())
    assert isinstance(clip, VideoOutput)
    frames = list(clip.frames)
    _, truth = subject_on_clutter(1, size=(360, 240))
    # the subject grows more than the background: the parallax of a push-in
    first, last = frames[0].astype(np.int16), frames[-1].astype(np.int16)
    subject_change = float(np.abs(last - first)[truth].mean())
    corner_change = float(np.abs(last - first)[:40, :40].mean())
    assert subject_change > 0 and corner_change > 0
    assert frames[0].shape == (240, 360, 3)


def test_compositor_img2video_with_scenery_still_moves(backend: CompositorBackend, tmp_path: Path) -> None:
    land = write_rgb(tmp_path / "land.png", landscape(size=(360, 240)))
    job = _job(TaskKind.IMAGE_TO_VIDEO, (land,), movement_amplitude="medium")
    out = backend.generate(job, _noop, _Never())
    assert isinstance(out, VideoOutput)
    frames = list(out.frames)
    assert _mad(frames[0], _picture(land, 360, 240)) < 5
    assert float(np.abs(frames[-1].astype(np.int16) - frames[0]).mean()) > 1


def test_compositor_img2video_is_deterministic_and_plays_music(
    backend: CompositorBackend, photo: Path, tmp_path: Path
) -> None:
    job = _job(TaskKind.IMAGE_TO_VIDEO, (photo,), bgm=True)
    _assert_same_video(job, tmp_path)
    other = _rendered(GenerationJob(**{**job.__dict__, "seed": 6}))
    assert _mad(_rendered(job)[-1], other[-1]) > 0.5  # another seed, another camera path
    out = backend.generate(job, _noop, _Never())
    assert isinstance(out, VideoOutput) and out.audio is not None
    assert out.audio.shape == (2, out.sample_rate)


# ---------------------------------------------------------------- start-end2video


def test_compositor_start_end_begins_and_ends_on_its_pictures(
    backend: CompositorBackend, photo: Path, other_photo: Path, tmp_path: Path
) -> None:
    job = _job(TaskKind.START_END_TO_VIDEO, (photo, other_photo), duration=2)
    frames = _decoded(backend, job, tmp_path / "se.mp4")
    start, end = _picture(photo, 360, 240), _picture(other_photo, 360, 240)
    assert _mad(frames[0], start) < 20
    assert _mad(frames[-1], end) < 20
    assert _mad(start, end) > 20  # the pictures differ, so the checks above mean something
    middle = frames[len(frames) // 2]
    average = (start.astype(np.float32) + end.astype(np.float32)) / 2
    assert _mad(middle, average) > 3  # a morph under a moving camera, not a plain cross-fade
    assert _mad(middle, start) > 8 and _mad(middle, end) > 8  # and truly in between
    steps = [float(np.abs(a.astype(np.int16) - b).mean()) for a, b in itertools.pairwise(frames)]
    assert max(steps) < 4 * (float(np.median(steps)) + 1.0)  # no jump, not even at the ends


def test_compositor_start_end_is_deterministic(photo: Path, other_photo: Path, tmp_path: Path) -> None:
    _assert_same_video(_job(TaskKind.START_END_TO_VIDEO, (photo, other_photo)), tmp_path)


def test_compositor_start_end_morph_at_full_size_restores_detail(
    backend: CompositorBackend, tmp_path: Path
) -> None:
    """Pictures larger than the working size: the morph runs small, the ends are still sharp."""
    big = write_rgb(tmp_path / "big.png", subject_on_clutter(3, size=(1440, 960))[0])
    other = write_rgb(tmp_path / "big2.png", subject_on_clutter(4, size=(1440, 960))[0])
    job = _job(TaskKind.START_END_TO_VIDEO, (big, other), width=1200, height=800)
    out = backend.generate(job, _noop, _Never())
    assert isinstance(out, VideoOutput)
    frames = list(out.frames)
    start = _picture(big, 1200, 800)
    assert np.array_equal(frames[0], start)
    # the frame after the first keeps the picture's fine detail (not a blurred upscale)
    sharp = float(cv2.Laplacian(cv2.cvtColor(start, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())
    second = float(cv2.Laplacian(cv2.cvtColor(frames[1], cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())
    assert second > 0.7 * sharp


# ---------------------------------------------------------------- text2video


def test_compositor_text2video_moves_and_anime_looks_different(
    backend: CompositorBackend, tmp_path: Path
) -> None:
    prompt = "a quiet lake at night under the stars"
    general = _decoded(
        backend, _job(TaskKind.TEXT_TO_VIDEO, (), prompt=prompt, duration=2), tmp_path / "general.mp4"
    )
    anime = _decoded(
        backend,
        _job(TaskKind.TEXT_TO_VIDEO, (), prompt=prompt, duration=2, style="anime"),
        tmp_path / "anime.mp4",
    )
    for frames in (general, anime):
        assert float(np.abs(frames[-1].astype(np.int16) - frames[0]).mean()) > 1
    assert _mad(general[0], anime[0]) > 8
    # anime: flat areas of one colour, parted by hard inked edges, where general shades smoothly
    flat_general, edges_general = _flat_and_edges(general[0])
    flat_anime, edges_anime = _flat_and_edges(anime[0])
    assert flat_anime > flat_general + 0.1
    assert edges_anime > 1.3 * edges_general


def _flat_and_edges(frame: np.ndarray) -> tuple[float, float]:
    """The share of pixels with (almost) no gradient, and of pixels on a hard edge."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    return float(np.mean(grad < 4)), float(np.mean(grad > 40))


def test_compositor_text2video_is_deterministic(tmp_path: Path) -> None:
    job = _job(TaskKind.TEXT_TO_VIDEO, (), prompt="green hills under a blue sky", style="anime")
    _assert_same_video(job, tmp_path)
    other = _rendered(GenerationJob(**{**job.__dict__, "seed": 6}))
    assert _mad(_rendered(job)[-1], other[-1]) > 1


# ---------------------------------------------------------------- subjects form


def _union(boxes: list[Box]) -> Box:
    return Box(
        min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes)
    )


@pytest.mark.parametrize(("width", "height"), [(320, 180), (180, 320), (240, 240)])
def test_compositor_subjects_keep_their_pictures_together(
    backend: CompositorBackend,
    make_reference: Callable[..., Path],
    tmp_path: Path,
    width: int,
    height: int,
) -> None:
    colours = ((220, 30, 30), (200, 60, 60), (30, 60, 220), (40, 190, 60), (60, 170, 80))
    refs = tuple(
        make_reference(tmp_path / f"{i}.png", c, alpha=True, size=(200 + 20 * i, 300))
        for i, c in enumerate(colours)
    )
    groups = ((0, 1), (2,), (3, 4))
    subjects = tuple(SubjectReferences(f"s{n}", tuple(refs[i] for i in g)) for n, g in enumerate(groups))
    for seed in (1, 2, 3):
        job = _job(TaskKind.VIDEO, refs, width=width, height=height, seed=seed, subjects=subjects)
        scene = Scene(job, backend.references(refs))
        boxes = scene.boxes(0, 0)
        assert len(boxes) == 5
        regions = [_union([boxes[i] for i in g]) for g in groups]
        # one region per subject: no other subject's picture reaches into it
        for n, region in enumerate(regions):
            for m, g in enumerate(groups):
                if m != n:
                    assert not any(region.overlaps(boxes[i]) for i in g), (seed, n, m)
        # and its pictures sit closer to each other than to any other subject's
        for g in (groups[0], groups[2]):
            a, b = boxes[g[0]], boxes[g[1]]
            inner = max(b.x0 - a.x1, b.y0 - a.y1)
            assert 0 <= inner < 0.05 * max(width, height)
        frames = [scene.frame(i / 23, i / 24) for i in (0, 12, 23)]
        frame_box = Box(0, 0, width, height)
        for i in range(0, 24, 4):
            moving = scene.boxes(i / 23, i / 24)
            assert all(b.inside(frame_box) for b in moving)
            assert not any(p.overlaps(q) for p, q in itertools.combinations(moving, 2))
        assert frames[0].shape == (height, width, 3)


def test_compositor_subjects_form_with_single_pictures_lays_out_as_the_plain_form(
    backend: CompositorBackend, make_reference: Callable[..., Path], tmp_path: Path
) -> None:
    references = tuple(
        make_reference(tmp_path / f"{i}.png", c, alpha=True)
        for i, c in enumerate(((220, 30, 30), (30, 60, 220), (40, 190, 60)))
    )
    subjects = tuple(SubjectReferences(f"s{i}", (r,)) for i, r in enumerate(references))
    plain = Scene(_job(TaskKind.VIDEO, references, width=320, height=180), backend.references(references))
    grouped = Scene(
        _job(TaskKind.VIDEO, references, width=320, height=180, subjects=subjects),
        backend.references(references),
    )
    for a, b in zip(plain.boxes(0, 0), grouped.boxes(0, 0), strict=True):
        assert (a.x0, a.y0, a.x1, a.y1) == pytest.approx((b.x0, b.y0, b.x1, b.y1), abs=1e-9)
