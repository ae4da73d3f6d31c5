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
