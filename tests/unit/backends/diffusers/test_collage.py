"""References made ready for a model's reference inputs (refgen.media.collage)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from refgen.media import collage


def test_group_sizes_keep_the_first_references_alone() -> None:
    assert collage.group_sizes(3, 4) == [1, 1, 1]
    assert collage.group_sizes(5, 4) == [1, 1, 1, 2]
    assert collage.group_sizes(7, 4) == [1, 2, 2, 2]
    assert collage.group_sizes(7, 3) == [2, 2, 3]
    assert sum(collage.group_sizes(7, 1)) == 7


def test_prepare_references_collages_extra_references_and_drops_none(
    tmp_path: Path, make_reference: Callable[..., Path]
) -> None:
    colours = [(220, 30, 30), (30, 60, 220), (40, 190, 60), (230, 200, 40), (150, 60, 170)]
    paths = [make_reference(tmp_path / f"r{i}.png", c, alpha=i == 4) for i, c in enumerate(colours)]
    images, sizes = collage.prepare_references(paths, 3, (160, 90))
    assert sizes == [1, 2, 2] and len(images) == 3
    assert all(im.mode == "RGB" for im in images)
    # alone: not tiled, only reduced (by a whole factor, 3) to no more than fits the 160 × 90 canvas
    assert images[0].size == (80, 107)
    for image, pair in ((images[1], colours[1:3]), (images[2], colours[3:5])):
        assert image.size == (160, 90)
        pixels = np.asarray(image).reshape(-1, 3).astype(int)
        for colour in pair:  # both subjects of the pair are on the collage
            assert (np.abs(pixels - np.array(colour)).sum(axis=1) < 30).sum() > 50
    corner = np.asarray(images[2])[0, 0]
    assert corner.min() > 240  # transparency and margins are white


def test_collage_of_one_is_the_image_itself() -> None:
    image = Image.new("RGB", (10, 20))
    assert collage.collage([image], 100, 100) is image
