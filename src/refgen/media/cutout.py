"""Subject masks: cut the subject of a reference image out of its background.

An image with a real alpha channel is its own mask. Otherwise OpenCV GrabCut runs on a copy
downscaled to at most 256 px, seeded with a rectangle a few percent inside the border (the border is
taken as background); the mask is cleaned, upscaled and feathered. When GrabCut finds nothing
sensible (almost nothing or almost everything), a soft ellipse stands in. GrabCut's random
initialisation is seeded, so the same image always gives the same mask.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Mask = npt.NDArray[np.uint8]
"""A soft mask ``(H, W)``: 0 background … 255 subject."""

GRABCUT_MAX_SIDE = 256
GRABCUT_ITERATIONS = 4


def has_alpha(rgba: npt.NDArray[np.uint8]) -> bool:
    """True when the alpha channel carries a shape: some transparency and some solid subject."""
    alpha = rgba[..., 3]
    transparent = float(np.mean(alpha < 128))
    return 0.01 < transparent < 0.99


def subject_mask(rgba: npt.NDArray[np.uint8]) -> Mask:
    """The subject's soft mask, from alpha when there is one, else GrabCut, else an ellipse."""
    if has_alpha(rgba):
        return np.ascontiguousarray(rgba[..., 3])
    h, w = rgba.shape[:2]
    small = grabcut_mask(np.ascontiguousarray(rgba[..., :3]))
    if small is None:
        return ellipse_mask(h, w)
    mask = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    # pull the edge in a little so the feather does not carry a halo of the old background
    k = max(3, round(0.01 * max(h, w)) | 1)
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    sigma = max(1.0, 0.006 * max(h, w))
    return np.asarray(cv2.GaussianBlur(mask, (0, 0), sigma), dtype=np.uint8)


def grabcut_mask(rgb: npt.NDArray[np.uint8]) -> Mask | None:
    """A hard 0/255 mask at GrabCut's working size, or None when the result is not plausible."""
    h, w = rgb.shape[:2]
    scale = min(1.0, GRABCUT_MAX_SIDE / max(h, w))
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    mx, my = max(2, round(sw * 0.04)), max(2, round(sh * 0.04))
    rect = (mx, my, sw - 2 * mx, sh - 2 * my)
    mask = np.zeros((sh, sw), np.uint8)
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(12345)
    try:
        cv2.grabCut(bgr, mask, rect, bgd, fgd, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return None
    fg = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    opened = cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel)
    fg = _keep_large_components(np.asarray(cv2.morphologyEx(opened, cv2.MORPH_CLOSE, kernel), dtype=np.uint8))
    fraction = float(np.mean(fg > 0))
    if not 0.02 <= fraction <= 0.9:
        return None
    return fg


def ellipse_mask(h: int, w: int) -> Mask:
    """A soft ellipse filling most of the frame: the fallback when no subject can be found."""
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (max(1, int(w * 0.4)), max(1, int(h * 0.44))), 0, 0, 360, 255, -1)
    sigma = max(1.0, 0.04 * min(h, w))
    return np.asarray(cv2.GaussianBlur(mask, (0, 0), sigma), dtype=np.uint8)


def _keep_large_components(fg: Mask) -> Mask:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count <= 2:
        return fg
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= 0.15 * areas.max()) + 1
    return np.where(np.isin(labels, keep), 255, 0).astype(np.uint8)
