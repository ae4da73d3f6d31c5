from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from refgen.domain import Task, TaskKind
from refgen.errors import BackendError
from refgen.testing.builders import make_task
from refgen.worker.execute import frame_size


def _auto(resolution: str = "1080p") -> Task:
    task = make_task("t", "k", kind=TaskKind.IMAGE, model="viduq2")
    task.spec = replace(task.spec, aspect_ratio="auto", resolution=resolution)
    return task


def test_auto_aspect_ratio_follows_the_first_reference_as_shown(tmp_path: Path) -> None:
    """A photo stored sideways with an EXIF rotation gives a portrait frame, as people see it."""
    image = Image.new("RGB", (400, 200), (10, 20, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # stored landscape, shown turned 90° clockwise
    path = tmp_path / "sideways.jpg"
    image.save(path, "JPEG", exif=exif)
    assert frame_size(_auto(), path) == (1080, 2160)
    upright = tmp_path / "upright.png"
    Image.new("RGB", (400, 200)).save(upright)
    assert frame_size(_auto(), upright) == (2160, 1080)


def test_auto_aspect_ratio_needs_a_reference() -> None:
    with pytest.raises(BackendError, match="needs a reference"):
        frame_size(_auto(), None)


def _framed(kind: TaskKind, resolution: str, recorded_ratio: str = "16:9") -> Task:
    task = make_task("t", "k", kind=kind)
    task.spec = replace(task.spec, resolution=resolution, aspect_ratio=recorded_ratio)
    return task


@pytest.mark.parametrize("kind", [TaskKind.IMAGE_TO_VIDEO, TaskKind.START_END_TO_VIDEO])
@pytest.mark.parametrize(
    ("picture", "resolution", "size"),
    [
        ((1280, 720), "1080p", (1920, 1080)),
        ((720, 1280), "720p", (720, 1280)),
        ((512, 512), "1080p", (1080, 1080)),
        ((640, 512), "540p", (676, 540)),  # 540 × 1.25 = 675, rounded to an even number
        ((1280, 720), "2K", (2560, 1440)),  # viduq3-pro's 2K: short side 1440
        ((600, 800), "360p", (360, 480)),
    ],
)
def test_frame_size_follows_the_start_picture(
    tmp_path: Path, kind: TaskKind, picture: tuple[int, int], resolution: str, size: tuple[int, int]
) -> None:
    path = tmp_path / "start.png"
    Image.new("RGB", picture).save(path)
    # whatever ratio the task records, the picture decides
    assert frame_size(_framed(kind, resolution, "9:16"), path) == size


def test_frame_size_of_a_picture_framed_kind_needs_its_picture() -> None:
    with pytest.raises(BackendError, match="img2video needs a reference"):
        frame_size(_framed(TaskKind.IMAGE_TO_VIDEO, "720p"), None)


def test_text2video_frame_follows_its_aspect_ratio() -> None:
    assert frame_size(_framed(TaskKind.TEXT_TO_VIDEO, "720p", "3:4"), None) == (720, 960)
