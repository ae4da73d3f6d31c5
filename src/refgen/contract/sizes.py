"""Output frame sizes: the short side is the resolution's number, the long side follows the ratio.

img2video and start-end2video take the (start) picture's ratio instead of an ``aspect_ratio``
(:func:`auto_size`, as reference2image's ``auto``); a start and an end frame must have ratios within
:data:`START_END_RATIO` of each other, computed exactly.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

SHORT_SIDE = {"360p": 360, "540p": 540, "720p": 720, "1080p": 1080, "2K": 1440, "4K": 2160}

START_END_RATIO = (Fraction(4, 5), Fraction(5, 4))
"""(start width/height) ÷ (end width/height) must lie in this closed range."""


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
    """The size that keeps a picture's ratio: short side = the resolution's number, long side = short
    side × the picture's ratio, rounded to an even number (1280×720 at 1080p → 1920×1080)."""
    short = SHORT_SIDE[resolution]
    if width >= height:
        return _even(short * width / height), short
    return short, _even(short * height / width)


def reduced_ratio(width: int, height: int) -> str:
    """``W:H`` in lowest terms: 1920×1080 → ``16:9``."""
    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


def frames_match(start: tuple[int, int], end: tuple[int, int]) -> bool:
    """Whether a start and an end frame's ratios are close enough (:data:`START_END_RATIO`)."""
    ratio = Fraction(start[0], start[1]) / Fraction(end[0], end[1])
    return START_END_RATIO[0] <= ratio <= START_END_RATIO[1]
