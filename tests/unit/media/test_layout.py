from __future__ import annotations

import itertools

import numpy as np
import pytest

from refgen.media.layout import layout_subjects, motion_room, safe_area

SIZES = [(1920, 1080), (1080, 1920), (1080, 1080), (1440, 1080), (2520, 1080)]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7])
def test_layout_keeps_aspect_never_overlaps_and_stays_inside(size: tuple[int, int], count: int) -> None:
    rng = np.random.default_rng(count)
    aspects = [float(a) for a in rng.uniform(0.35, 2.5, count)]
    boxes = layout_subjects(aspects, *size, np.random.default_rng(7))
    assert len(boxes) == count
    safe = safe_area(*size)
    for box, aspect in zip(boxes, aspects, strict=True):
        assert box.width / box.height == pytest.approx(aspect, rel=1e-9)
        assert box.inside(safe)
        assert box.height > 0.1 * min(size)  # big enough to recognise
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    cells = motion_room(boxes, *size)
    for box, cell in zip(boxes, cells, strict=True):
        assert box.inside(cell)
    for a, b in itertools.combinations(cells, 2):
        assert not a.overlaps(b)


def test_layout_keeps_the_order_given() -> None:
    boxes = layout_subjects([1.0, 1.0, 1.0], 1920, 1080, np.random.default_rng(1))
    assert [b.centre_x for b in boxes] == sorted(b.centre_x for b in boxes)


def test_layout_varies_with_the_seed_only() -> None:
    aspects = [0.8, 1.2, 1.0]
    a = layout_subjects(aspects, 1280, 720, np.random.default_rng(1))
    b = layout_subjects(aspects, 1280, 720, np.random.default_rng(1))
    c = layout_subjects(aspects, 1280, 720, np.random.default_rng(2))
    assert a == b and a != c
