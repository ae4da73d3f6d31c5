"""Watermarks: a small mark alpha-blended into one corner of every frame.

The mark is either a custom RGBA image (``wm_url``) or the default: a semi-transparent rounded
"refgen" badge drawn with Pillow's built-in font. For each frame size the mark is rendered once,
premultiplied, and cached; :meth:`Watermark.apply` then blends only the mark's small region.
Positions follow the contract: 1 top-left, 2 top-right, 3 bottom-right (default), 4 bottom-left.
"""

from __future__ import annotations

import math
import threading
from enum import IntEnum

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from refgen.generation import Frame

RGBA = npt.NDArray[np.uint8]


class WatermarkPosition(IntEnum):
    TOP_LEFT = 1
    TOP_RIGHT = 2
    BOTTOM_RIGHT = 3
    BOTTOM_LEFT = 4


class _Placed:
    """A mark rendered for one frame size: where it goes and its premultiplied pixels."""

    __slots__ = ("inv_alpha", "premult", "x", "y")

    def __init__(self, mark: RGBA, x: int, y: int) -> None:
        alpha = mark[..., 3:4].astype(np.uint16)
        self.premult = ((mark[..., :3].astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
        self.inv_alpha = np.repeat(255 - mark[..., 3:4], 3, axis=2)
        self.x = x
        self.y = y


class Watermark:
    """A watermark for one position and (optionally) one custom image; reusable across frames."""

    def __init__(
        self,
        position: int | WatermarkPosition = WatermarkPosition.BOTTOM_RIGHT,
        image: RGBA | None = None,
        *,
        text: str = "refgen",
        height_ratio: float = 0.07,
        margin_ratio: float = 0.03,
    ) -> None:
        self.position = WatermarkPosition(position)
        if image is not None and (image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8):
            raise ValueError("watermark image must be a uint8 RGB or RGBA array")
        if image is not None and image.shape[2] == 3:
            image = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])
        self.image = image
        self.text = text
        self.height_ratio = height_ratio
        self.margin_ratio = margin_ratio
        self._cache: dict[tuple[int, int], _Placed] = {}
        self._lock = threading.Lock()

    def apply(self, frame: Frame) -> Frame:
        """A copy of ``frame`` with the mark blended in; the input is not modified."""
        out = frame.copy()
        self.apply_inplace(out)
        return out

    def apply_inplace(self, frame: Frame) -> None:
        h, w = frame.shape[:2]
        placed = self._placed(w, h)
        mh, mw = placed.premult.shape[:2]
        roi = frame[placed.y : placed.y + mh, placed.x : placed.x + mw]
        blended = cv2.add(cv2.multiply(roi, placed.inv_alpha, scale=1 / 255), placed.premult)
        roi[...] = blended

    def render(self, width: int, height: int) -> RGBA:
        """The mark (RGBA) as it is drawn on a ``width`` × ``height`` frame."""
        short = min(width, height)
        mark_h = max(12, round(short * self.height_ratio))
        max_w = max(16, round(width * 0.4))
        max_h = max(12, round(height * 0.3))
        if self.image is None:
            mark = _badge(self.text, mark_h)
        else:
            ih, iw = self.image.shape[:2]
            scale = min(max(mark_h * 1.6, 24) / ih, max_w / iw, max_h / ih)
            size = (max(1, round(iw * scale)), max(1, round(ih * scale)))
            interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            mark = np.asarray(cv2.resize(self.image, size, interpolation=interp), dtype=np.uint8)
        # never larger than the frame allows
        if mark.shape[1] > max_w or mark.shape[0] > max_h:
            s = min(max_w / mark.shape[1], max_h / mark.shape[0])
            size = (max(1, int(mark.shape[1] * s)), max(1, int(mark.shape[0] * s)))
            mark = np.asarray(cv2.resize(mark, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        return mark

    def _placed(self, width: int, height: int) -> _Placed:
        key = (width, height)
        placed = self._cache.get(key)
        if placed is None:
            with self._lock:
                mark = self.render(width, height)
                margin = round(min(width, height) * self.margin_ratio)
                mh, mw = mark.shape[:2]
                left = self.position in (WatermarkPosition.TOP_LEFT, WatermarkPosition.BOTTOM_LEFT)
                top = self.position in (WatermarkPosition.TOP_LEFT, WatermarkPosition.TOP_RIGHT)
                x = margin if left else width - margin - mw
                y = margin if top else height - margin - mh
                placed = _Placed(mark, max(0, x), max(0, y))
                self._cache[key] = placed
        return placed


def _badge(text: str, height: int) -> RGBA:
    """A rounded dark translucent badge with light text, ``height`` px tall, drawn at 2× and reduced."""
    s = 2
    h = height * s
    font = ImageFont.load_default(size=max(8, round(h * 0.58)))
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    pad = round(h * 0.45)
    w = math.ceil(right - left) + 2 * pad
    badge = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(badge)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=h // 2, fill=(16, 18, 24, 120))
    ty = (h - (bottom - top)) // 2 - top
    draw.text((pad - left, ty), text, font=font, fill=(255, 255, 255, 225))
    small = badge.resize((max(1, w // s), height), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8).copy()
