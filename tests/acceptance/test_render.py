"""``refgen render`` as installed: a contact sheet, a video and a still, no server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from refgen.media.video import probe
from tests.unit.media.photos import landscape, subject_on_clutter, write_rgb

REFGEN = shutil.which("refgen", path=str(Path(sys.executable).parent)) or "refgen"


@pytest.mark.slow
def test_render_writes_a_contact_sheet_a_video_and_a_still(tmp_path: Path) -> None:
    a = write_rgb(tmp_path / "a.png", subject_on_clutter(1)[0])
    b = write_rgb(tmp_path / "b.png", landscape())
    sheet, video, still = tmp_path / "sheet.png", tmp_path / "v.mp4", tmp_path / "s.png"
    args = ["--image", str(a), "--image", str(b), "--seed", "3", "--resolution", "360p"]
    done = subprocess.run(
        [
            REFGEN,
            "render",
            *args,
            "--contact-sheet",
            str(sheet),
            "--video",
            str(video),
            "--duration",
            "1",
            "--bgm",
            "--still",
            str(still),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    grid = cv2.imread(str(sheet))
    assert grid is not None and grid.shape[0] > 3 * 240 and grid.shape[1] > 9 * 135
    info = probe(video)
    assert (info.width, info.height, info.frame_count, info.audio_codec) == (640, 360, 24, "aac")
    image = cv2.imread(str(still))
    assert image is not None and image.shape == (360, 640, 3)


def test_render_needs_something_to_write() -> None:
    done = subprocess.run([REFGEN, "render"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--contact-sheet" in done.stderr
