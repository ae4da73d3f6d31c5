"""Reference images and jobs for backend tests, as fixtures (no ``from conftest import``).

``references``: three PNGs, a red and a blue subject on plain light backgrounds and a green one on
transparency. ``video_job(...)``/``make_reference(...)`` are factory fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from refgen.domain import TaskKind
from refgen.generation import GenerationJob

SUBJECT_COLORS = ((220, 30, 30), (30, 60, 220), (40, 190, 60))


def _make_reference(
    path: Path, color: tuple[int, int, int], *, alpha: bool = False, size: tuple[int, int] = (240, 320)
) -> Path:
    """A PNG with one coloured subject (body and head) on a light plain background, or on transparency."""
    w, h = size
    img = np.zeros((h, w, 4), np.uint8)
    if not alpha:
        img[...] = (238, 236, 230, 255)
    body = np.zeros((h, w), np.uint8)
    cv2.ellipse(body, (w // 2, int(h * 0.62)), (int(w * 0.28), int(h * 0.3)), 0, 0, 360, 255, -1)
    cv2.circle(body, (w // 2, int(h * 0.24)), int(w * 0.16), 255, -1)
    img[body > 0, :3] = color
    img[body > 0, 3] = 255
    # a darker detail so the subject is not one flat colour
    cv2.circle(img, (w // 2, int(h * 0.62)), int(w * 0.08), (*(c // 2 for c in color), 255), -1)
    rgba = cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA)
    cv2.imwrite(str(path), rgba if alpha else rgba[..., :3])
    return path


@pytest.fixture
def references(tmp_path: Path) -> tuple[Path, ...]:
    return (
        _make_reference(tmp_path / "red.png", SUBJECT_COLORS[0]),
        _make_reference(tmp_path / "blue.png", SUBJECT_COLORS[1], size=(320, 240)),
        _make_reference(tmp_path / "green.png", SUBJECT_COLORS[2], alpha=True),
    )


def _video_job(
    references: tuple[Path, ...],
    *,
    seed: int = 7,
    amplitude: str = "medium",
    width: int = 320,
    height: int = 180,
    duration: int = 1,
    bgm: bool = False,
    prompt: str = "three friends by a lake",
) -> GenerationJob:
    return GenerationJob(
        task_id="t1",
        kind=TaskKind.VIDEO,
        model="viduq1",
        prompt=prompt,
        references=references,
        width=width,
        height=height,
        seed=seed,
        duration=duration,
        movement_amplitude=amplitude,
        bgm=bgm,
    )


@pytest.fixture(name="make_reference")
def make_reference_fixture() -> Callable[..., Path]:
    return _make_reference


@pytest.fixture(name="video_job")
def video_job_fixture() -> Callable[..., GenerationJob]:
    return _video_job


class Cancel:
    """A cancel token that turns on after ``after`` polls (never, by default)."""

    def __init__(self, after: int | None = None) -> None:
        self.after = after
        self.polls = 0

    def is_cancelled(self) -> bool:
        self.polls += 1
        return self.after is not None and self.polls > self.after


@pytest.fixture
def cancel_token() -> Callable[..., Cancel]:
    return Cancel
