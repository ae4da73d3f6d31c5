from __future__ import annotations

import cv2
import numpy as np
import pytest

from refgen.media.cutout import card_mask, cut_out, feathered, salient_fraction
from refgen.media.images import load_rgba
from tests.unit.media.photos import landscape, sample_photo, subject_on_clutter


def _rgba(rgb: np.ndarray) -> np.ndarray:
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])


def test_cutout_uses_the_alpha_channel_when_there_is_one() -> None:
    rgba = np.zeros((200, 160, 4), np.uint8)
    rgba[40:180, 30:130] = (10, 200, 30, 255)
    cut = cut_out(rgba)
    assert cut.source == "alpha" and not cut.scenery
    assert np.array_equal(cut.mask, rgba[..., 3])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cutout_separates_a_subject_from_a_cluttered_background(seed: int) -> None:
    rgb, truth = subject_on_clutter(seed)
    cut = cut_out(_rgba(rgb))
    assert cut.source == "grabcut" and not cut.scenery
    found = cut.mask > 127
    recall = (found & truth).sum() / truth.sum()
    iou = (found & truth).sum() / (found | truth).sum()
    # all of the subject; clutter touching it in colours the border never shows may come along
    assert recall > 0.95 and iou > 0.6, (recall, iou)
    # the edge is feathered: some values strictly between 0 and 255
    assert np.any((cut.mask > 20) & (cut.mask < 235))


def test_cutout_is_deterministic() -> None:
    rgb, _ = subject_on_clutter(5)
    assert np.array_equal(cut_out(_rgba(rgb)).mask, cut_out(_rgba(rgb)).mask)


def test_cutout_calls_a_landscape_scenery() -> None:
    rgb = landscape()
    assert salient_fraction(rgb) < 0.04
    assert cut_out(_rgba(rgb)).scenery


@pytest.mark.parametrize(
    ("name", "inside", "outside"),
    [
        ("astronaut.png", (0.45, 0.2), (0.62, 0.06)),  # her face; the wall beside her
        ("coffee.png", (0.42, 0.28), (0.03, 0.95)),  # the crema; the table's corner
        ("chelsea.png", (0.55, 0.55), (0.97, 0.08)),  # the cat's face; the background
    ],
)
def test_cutout_on_sample_photos(
    name: str, inside: tuple[float, float], outside: tuple[float, float]
) -> None:
    path = sample_photo(name)
    if path is None:
        pytest.skip("scikit-image's sample photos are not installed (the dev extra has them)")
    rgba = load_rgba(path)
    cut = cut_out(rgba)
    h, w = cut.mask.shape
    assert not cut.scenery
    assert cut.mask[round(inside[1] * h), round(inside[0] * w)] > 200
    assert cut.mask[round(outside[1] * h), round(outside[0] * w)] < 50
    assert 0.1 < cut.foreground < 0.8


def test_card_mask_is_a_soft_rounded_rectangle() -> None:
    mask = card_mask(100, 200)
    assert mask[50, 100] == 255 and mask[0, 0] == 0
    assert np.any((mask > 0) & (mask < 255))


def test_a_large_pictures_soft_edge_is_made_small_and_scaled_up() -> None:
    """Feathering at full size and at ``FEATHER_MAX_SIDE`` then scaled up give the same edge."""
    fg = np.zeros((96, 144), np.uint8)
    cv2.ellipse(fg, (72, 52), (40, 30), 0, 0, 360, 255, -1)
    h, w = 2000, 3000
    soft = feathered(fg, h, w)
    assert soft.shape == (h, w)
    # the direct way: upscale, erode by 0.8 % and blur by 0.5 % of the longer side at full size
    full = cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR)
    k = round(0.008 * w) | 1
    full = cv2.erode(full, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    full = cv2.GaussianBlur(full, (0, 0), 0.005 * w)
    assert np.abs(soft.astype(int) - full.astype(int)).mean() < 1.0
    assert np.any((soft > 20) & (soft < 235))
