"""Frames between a model's native size and rate and the output's (refgen.media.frames)."""

from __future__ import annotations

import numpy as np
import pytest

from refgen.media import frames


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
    w, h = frames.native_size(width, height, area, 16)
    assert (w, h) == expected
    assert w % 16 == 0 and h % 16 == 0
    assert frames.native_size(640, 360, 10**7, 16, at_most_output=True) == (640, 352)


def test_cover_resize_fills_the_output_without_stretching() -> None:
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :8] = 255  # a white band at the left edge: cropped away when the ratio narrows
    frame[20:28, 28:36] = (255, 0, 0)  # a red square at the centre stays square
    out = frames.cover_resize(frame, 96, 96)
    assert out.shape == (96, 96, 3) and out.dtype == np.uint8
    red = np.argwhere((out[..., 0] > 200) & (out[..., 1] < 60))
    hh, ww = np.ptp(red[:, 0]) + 1, np.ptp(red[:, 1]) + 1
    assert abs(int(hh) - int(ww)) <= 2
    assert out[:, :4].max() < 128  # the left band did not survive the centre crop
    assert frames.cover_resize(frame, 64, 48) is frame
    assert frames.cover_resize(frame, 1920, 1080).shape == (1080, 1920, 3)


def test_retime_makes_exactly_the_frame_count_with_aligned_ends() -> None:
    source = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (0, 80, 160, 240)])
    for mode in frames.RETIME_MODES:
        out = list(frames.retime(source, 24, mode))
        assert len(out) == 24
        assert out[0].max() == 0 and out[-1].min() == 240
        values = [int(f[0, 0, 0]) for f in out]
        assert values == sorted(values)
    blended = [int(f[0, 0, 0]) for f in frames.retime(source, 7, "blend")]
    assert blended == [0, 40, 80, 120, 160, 200, 240]
    assert [int(f[0, 0, 0]) for f in frames.retime(source[:1], 3)] == [0, 0, 0]
