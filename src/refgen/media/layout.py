"""Where the compositor's subjects go: boxes that keep each subject's aspect ratio and never overlap.

:func:`layout_subjects` tries every row count (rows filled in the order given, left to right, top to
bottom; every subject in a row the same height) and keeps the arrangement that shows the most
subject area; a seeded scale and offset vary each box within its own slack, never into a
neighbour. :func:`motion_room` then says how far each box may move (sway, bob, breathe) without
reaching a neighbour's room or the frame's edge: every box gets a cell, half of the gap to each
neighbour, and cells never overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MARGIN_X = 0.045  # of the width, left and right
MARGIN_TOP = 0.07  # of the height
MARGIN_BOTTOM = 0.05
GAP_X = 0.035  # of the width, between subjects in a row
GAP_Y = 0.05  # of the height, between rows


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in frame pixels."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def centre_x(self) -> float:
        return (self.x0 + self.x1) / 2

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def inside(self, other: Box) -> bool:
        return self.x0 >= other.x0 and self.y0 >= other.y0 and self.x1 <= other.x1 and self.y1 <= other.y1


def safe_area(width: int, height: int) -> Box:
    """The part of the frame subjects are laid out in."""
    return Box(MARGIN_X * width, MARGIN_TOP * height, (1 - MARGIN_X) * width, (1 - MARGIN_BOTTOM) * height)


def layout_subjects(aspects: Sequence[float], width: int, height: int, rng: np.random.Generator) -> list[Box]:
    """One box per subject (``aspects`` are width/height), in the order given; see the module docstring."""
    n = len(aspects)
    if n == 0:
        return []
    safe = safe_area(width, height)
    gap_x, gap_y = GAP_X * width, GAP_Y * height
    best: tuple[float, list[list[int]], list[float]] | None = None
    for rows in range(1, n + 1):
        per_row = [n // rows + (1 if r < n % rows else 0) for r in range(rows)]
        groups, start = [], 0
        for k in per_row:
            groups.append(list(range(start, start + k)))
            start += k
        row_h = (safe.height - (rows - 1) * gap_y) / rows
        heights = [
            min(row_h, (safe.width - (len(g) - 1) * gap_x) / sum(aspects[i] for i in g)) for g in groups
        ]
        area = sum(heights[r] ** 2 * aspects[i] for r, g in enumerate(groups) for i in g)
        if best is None or area > best[0] * 1.02:
            best = (area, groups, heights)
    assert best is not None
    _, groups, heights = best
    # rows packed together, sitting low in the frame: subjects stand, they do not float
    spare_y = safe.height - sum(heights) - (len(groups) - 1) * gap_y
    boxes: list[Box] = [Box(0, 0, 0, 0)] * n
    y = safe.y0 + 0.62 * spare_y
    for g, h in zip(groups, heights, strict=True):
        widths = [h * aspects[i] for i in g]
        spare_x = (safe.width - sum(widths) - (len(g) - 1) * gap_x) / (len(g) + 1)
        x = safe.x0
        for i, wi in zip(g, widths, strict=True):
            x += spare_x
            scale = float(rng.uniform(0.84, 0.95))
            bw, bh = wi * scale, h * scale
            # anywhere within the slot (the subject's full-size box), resting low rather than high
            left = x + float(rng.uniform(0, 1)) * (wi - bw)
            top = y + (h - bh) * float(rng.uniform(0.55, 1.0))
            boxes[i] = Box(left, top, left + bw, top + bh)
            x += wi + gap_x
        y += h + gap_y
    return boxes


def motion_room(boxes: Sequence[Box], width: int, height: int) -> list[Box]:
    """For each box, the cell it may move in: half-way to its neighbours, or to the frame's margin.

    Two boxes that share rows are apart in x and each gets half of that gap; otherwise they are
    apart in y and each gets half of that one. Cells of different boxes never overlap.
    """
    edge = Box(0.02 * width, 0.02 * height, 0.98 * width, 0.98 * height)
    cells = []
    for i, b in enumerate(boxes):
        left, right = b.x0 - edge.x0, edge.x1 - b.x1
        up, down = b.y0 - edge.y0, edge.y1 - b.y1
        for j, o in enumerate(boxes):
            if i == j:
                continue
            if o.y0 < b.y1 and b.y0 < o.y1:  # share rows: apart in x
                if o.x1 <= b.x0:
                    left = min(left, (b.x0 - o.x1) / 2)
                elif o.x0 >= b.x1:
                    right = min(right, (o.x0 - b.x1) / 2)
            elif o.y1 <= b.y0:
                up = min(up, (b.y0 - o.y1) / 2)
            else:
                down = min(down, (o.y0 - b.y1) / 2)
        cells.append(Box(b.x0 - max(0, left), b.y0 - max(0, up), b.x1 + max(0, right), b.y1 + max(0, down)))
    return cells


GROUP_GAP = 0.04  # of a group's height (side by side) or width (stacked), between its pictures


def layout_groups(
    aspects: Sequence[float], counts: Sequence[int], width: int, height: int, rng: np.random.Generator
) -> list[Box]:
    """Boxes for pictures grouped by subject: one cell per group, its pictures together in it.

    ``counts`` says how many of ``aspects`` (in order) each group takes. A group's pictures sit side
    by side, or stacked when that is closer to a square, with a small gap; the groups themselves are
    laid out by :func:`layout_subjects`. Groups of one picture are laid out exactly as it does.
    """
    if sum(counts) != len(aspects):
        raise ValueError(f"the groups take {sum(counts)} pictures, there are {len(aspects)}")
    groups, start = [], 0
    for k in counts:
        groups.append(list(aspects[start : start + k]))
        start += k
    arrangements = [_arrangement(g) for g in groups]
    cells = layout_subjects([aspect for _, aspect in arrangements], width, height, rng)
    boxes: list[Box] = []
    for g, (stacked, _), cell in zip(groups, arrangements, cells, strict=True):
        boxes.extend(_split(cell, g, stacked))
    return boxes


def _arrangement(aspects: Sequence[float]) -> tuple[bool, float]:
    """(stacked, the group's aspect ratio): side by side unless stacking is closer to a square."""
    n = len(aspects)
    side = sum(aspects) + GROUP_GAP * (n - 1)
    stacked = 1 / (sum(1 / a for a in aspects) + GROUP_GAP * (n - 1))
    if n > 1 and abs(np.log(stacked)) < abs(np.log(side)):
        return True, stacked
    return False, side


def _split(cell: Box, aspects: Sequence[float], stacked: bool) -> list[Box]:
    """The group's cell cut into its pictures' boxes, in order, each keeping its aspect ratio."""
    boxes = []
    if stacked:
        w = cell.width
        y = cell.y0
        for a in aspects:
            boxes.append(Box(cell.x0, y, cell.x1, y + w / a))
            y += w / a + GROUP_GAP * w
        return boxes
    h = cell.height
    x = cell.x0
    for a in aspects:
        boxes.append(Box(x, cell.y0, x + h * a, cell.y1))
        x += h * a + GROUP_GAP * h
    return boxes
