from __future__ import annotations

import numpy as np
import pytest

from refgen.media.watermark import Watermark, WatermarkPosition


def _frame(w: int = 320, h: int = 180) -> np.ndarray:
    frame = np.empty((h, w, 3), np.uint8)
    frame[...] = (40, 160, 90)
    return frame


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.any(before != after, axis=2)


@pytest.mark.parametrize(
    ("position", "corner"),
    [
        (1, (slice(0, 90), slice(0, 160))),
        (2, (slice(0, 90), slice(160, 320))),
        (3, (slice(90, 180), slice(160, 320))),
        (4, (slice(90, 180), slice(0, 160))),
    ],
)
def test_watermark_apply_marks_only_its_corner(position: int, corner: tuple[slice, slice]) -> None:
    frame = _frame()
    out = Watermark(position).apply(frame)
    changed = _changed(frame, out)
    assert changed[corner].sum() > 50
    assert changed.sum() == changed[corner].sum()


def test_watermark_apply_does_not_modify_input_and_is_translucent() -> None:
    frame = _frame()
    before = frame.copy()
    out = Watermark(WatermarkPosition.BOTTOM_RIGHT).apply(frame)
    assert np.array_equal(frame, before)
    region = out[_changed(before, out)]
    # the badge is semi-transparent: the background still shows through somewhere
    assert region.shape[0] > 0 and (region[:, 1] > region[:, 0]).any()


def test_watermark_apply_custom_image_in_position() -> None:
    mark = np.zeros((64, 128, 4), np.uint8)
    mark[..., 0] = 255
    mark[..., 3] = 255
    frame = _frame(640, 360)
    out = Watermark(2, image=mark).apply(frame)
    red = (out[..., 0] == 255) & (out[..., 1] == 0)
    ys, xs = np.nonzero(red)
    assert len(xs) > 100
    assert xs.min() > 320 and ys.max() < 180


def test_watermark_apply_same_result_every_frame_and_size() -> None:
    wm = Watermark(3)
    assert np.array_equal(wm.apply(_frame()), wm.apply(_frame()))
    big = wm.apply(_frame(1920, 1080))
    assert big.shape == (1080, 1920, 3)
    assert _changed(_frame(1920, 1080), big).sum() > _changed(_frame(), wm.apply(_frame())).sum()


def test_watermark_rejects_bad_position() -> None:
    with pytest.raises(ValueError):
        Watermark(5)
