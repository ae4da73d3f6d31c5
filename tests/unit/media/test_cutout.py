from __future__ import annotations

import cv2
import numpy as np
import pytest

from refgen.media.cutout import card_mask, cut_out, feathered, one_piece, salient_fraction
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


def _pieces(mask: np.ndarray) -> list[int]:
    """The areas of a mask's 8-connected pieces (pixels over 127), largest first."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((mask > 127).astype(np.uint8), connectivity=8)
    return sorted(stats[1:count, cv2.CC_STAT_AREA].tolist(), reverse=True)


def test_cutout_keeps_the_astronaut_in_one_piece() -> None:
    """Her dark collar shares its colours with the photo's border; her head must not float."""
    path = sample_photo("astronaut.png")
    if path is None:
        pytest.skip("scikit-image's sample photos are not installed (the dev extra has them)")
    cut = cut_out(load_rgba(path))
    assert cut.source == "grabcut" and cut.mask.shape == (512, 512)
    pieces = _pieces(cut.mask)
    assert pieces[0] >= 0.99 * sum(pieces), pieces
    assert cut.mask[100, 225] > 200 and cut.mask[350, 150] > 200  # her face; her suit
    # her neck, from under the chin down to the collar inside the helmet ring
    assert np.all(cut.mask[185:250, 205:246] > 200)
    # the wall beside her neck stays out
    assert cut.mask[150, 310] < 50 and cut.mask[140, 140] < 50


def _head_and_body(gap: int) -> np.ndarray:
    """A hard mask: a round head over an elliptic body, ``gap`` px apart (192 × 192)."""
    fg = np.zeros((192, 192), np.uint8)
    cv2.circle(fg, (96, 50), 28, 255, -1)
    cv2.ellipse(fg, (96, 78 + gap + 60), (70, 60), 0, 0, 360, 255, -1)
    return fg


def test_one_piece_bridges_a_head_to_its_body() -> None:
    fg = _head_and_body(gap=12)
    assert len(_pieces(fg)) == 2
    out = one_piece(fg)
    assert len(_pieces(out)) == 1
    assert np.all(out[fg > 0] == 255)  # nothing of either piece is lost
    assert np.all(out[78:91, 90:103] == 255)  # the neck, under the chin
    assert out[84, 50] == 0 and out[84, 142] == 0  # the background beside the neck stays out
    added = np.count_nonzero(out) - np.count_nonzero(fg)
    assert added < 12 * 56, added  # no wider than the head


def test_one_piece_drops_a_piece_standing_apart() -> None:
    fg = np.zeros((192, 192), np.uint8)
    cv2.circle(fg, (60, 100), 45, 255, -1)
    cv2.rectangle(fg, (160, 20), (172, 60), 255, -1)  # clutter, far for its size
    out = one_piece(fg)
    assert len(_pieces(out)) == 1
    assert out[100, 60] == 255 and not np.any(out[:, 150:])


def test_one_piece_bridges_only_where_allowed() -> None:
    fg = _head_and_body(gap=12)
    bridgeable = np.ones(fg.shape, bool)
    bridgeable[79:90, :] = False  # the gap: e.g. the certain background of a border band
    out = one_piece(fg, bridgeable)
    assert not np.any(out[79:90] > 0)
    # the head cannot be joined: the body alone is left, still one piece
    assert len(_pieces(out)) == 1 and out[50, 96] == 0 and np.all(out[90:] >= fg[90:])


def test_one_piece_widens_a_strand_between_two_pieces() -> None:
    """Pieces joined by a line one pixel wide, which feathering erases, are bridged properly."""
    fg = _head_and_body(gap=12)
    fg[70:100, 96] = 255
    assert len(_pieces(fg)) == 1
    out = one_piece(fg)
    assert np.all(out[78:91, 90:103] == 255)
    assert len(_pieces(feathered(out, 512, 512))) == 1


def test_one_piece_leaves_a_single_piece_alone() -> None:
    fg = _head_and_body(gap=-10)
    assert len(_pieces(fg)) == 1
    assert np.array_equal(one_piece(fg), fg)


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
