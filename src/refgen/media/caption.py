"""The caption that marks a drafted picture as a draft: "draft · " and the prompt's first words.

Drawn once as a small RGBA patch (a translucent rounded box with white text, bottom left):
:func:`caption` puts it on a still; :func:`caption_layer` gives it premultiplied, for a video to
blend into every frame at the cost of its own small region.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from refgen.generation import Frame
from refgen.media.subject_layer import RGBA

MAX_WORDS_CHARS = 48


def caption_patch(width: int, height: int, prompt: str) -> tuple[RGBA, tuple[int, int]]:
    """The caption for a ``width`` × ``height`` picture: its RGBA pixels and their top-left corner."""
    text = " ".join(prompt.split())
    text = "draft · " + (text[:MAX_WORDS_CHARS] + "…" if len(text) > MAX_WORDS_CHARS else text)
    size = max(12, round(min(width, height) * 0.036))
    font = ImageFont.load_default(size=size)
    measure = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = (round(v) for v in measure.textbbox((0, 0), text, font=font))
    pad = size // 2
    box_w, box_h = right - left + 2 * pad, bottom - top + 2 * pad
    x, y = round(width * 0.03), height - round(height * 0.03) - (bottom - top) - 2 * pad
    patch = Image.new("RGBA", (box_w + 1, box_h + 1), (0, 0, 0, 0))
    draw = ImageDraw.Draw(patch)
    draw.rounded_rectangle((0, 0, box_w, box_h), radius=pad, fill=(0, 0, 0, 110))
    draw.text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 230))
    return np.asarray(patch, dtype=np.uint8).copy(), (x, y)


def caption(image: Frame, prompt: str) -> Frame:
    """``image`` with the draft caption composited on it."""
    h, w = image.shape[:2]
    patch, (x, y) = caption_patch(w, h, prompt)
    pil = Image.fromarray(image).convert("RGBA")
    pil.alpha_composite(Image.fromarray(patch), dest=(x, y))
    return np.asarray(pil.convert("RGB"), dtype=np.uint8).copy()


def caption_layer(width: int, height: int, prompt: str) -> tuple[RGBA, tuple[int, int]]:
    """The caption premultiplied (for :func:`~refgen.media.subject_layer.draw_layer`) and its corner."""
    patch, corner = caption_patch(width, height, prompt)
    a = patch[..., 3:].astype(np.float32) / 255
    out = patch.copy()
    out[..., :3] = np.clip(patch[..., :3].astype(np.float32) * a + 0.5, 0, 255).astype(np.uint8)
    return out, corner
