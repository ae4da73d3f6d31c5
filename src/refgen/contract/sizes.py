"""Output frame sizes: the short side is the resolution's number, the long side follows the ratio."""

from __future__ import annotations

SHORT_SIDE = {"360p": 360, "540p": 540, "720p": 720, "1080p": 1080, "2K": 1440, "4K": 2160}


def parse_ratio(aspect_ratio: str) -> tuple[int, int]:
    w, _, h = aspect_ratio.partition(":")
    return int(w), int(h)


def _even(value: float) -> int:
    return max(2, 2 * round(value / 2))


def output_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """(width, height) for a resolution and an ``W:H`` aspect ratio, both sides even."""
    short = SHORT_SIDE[resolution]
    rw, rh = parse_ratio(aspect_ratio)
    if rw >= rh:
        return _even(short * rw / rh), short
    return short, _even(short * rh / rw)


def auto_size(resolution: str, width: int, height: int) -> tuple[int, int]:
    """Size for ``aspect_ratio: auto``: the first reference's ratio at the resolution's short side."""
    short = SHORT_SIDE[resolution]
    if width >= height:
        return _even(short * width / height), short
    return short, _even(short * height / width)
