"""How much a compositor scene moves, and its camera.

:func:`movement_factor` turns ``movement_amplitude`` (and, for ``auto``, the prompt's verbs) into a
factor that scales every motion; :class:`Camera` is the seeded camera move: an eased zoom and pan
plus a slow drift, all sums of slow sines and a cosine ease, so consecutive frames never jump.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from refgen.media.layout import Box

AMPLITUDES = {"small": 0.4, "medium": 1.0, "large": 2.0}

_ACTION = re.compile(
    r"\b(run\w*|ran|jump\w*|danc\w*|fl(y|ies|ying|ew)|rac(e|es|ing)|chas\w*|fight\w*|spin\w*|leap\w*|"
    r"sprint\w*|kick\w*|throw\w*|gallop\w*|rush\w*|swing\w*|surf\w*|ski(s|ing)?|explod\w*|bounc\w*|"
    r"somersault\w*|battle\w*|dash\w*|hurr(y|ies|ied)|zoom\w*|twirl\w*|skat\w*|charg\w*|crash\w*)\b",
    re.IGNORECASE,
)
_CALM = re.compile(
    r"\b(calm\w*|still|gentl\w*|quiet\w*|sleep\w*|slow\w*|rest\w*|sit\w*|sat|peace\w*|seren\w*|"
    r"portrait\w*|meditat\w*|relax\w*|static|idle|tranquil\w*|softly|pos(e|es|ing)|stand\w*|stood|"
    r"lie|lies|lying|float\w*|doz\w*|wait\w*|listen\w*|read(s|ing)?)\b",
    re.IGNORECASE,
)


def movement_factor(amplitude: str, prompt: str) -> float:
    """How much things move: small < medium < large; ``auto`` reads the prompt's verbs.

    ``auto``: a prompt with an action verb (run, jump, dance, fly…) moves like ``large``; one with
    only calm verbs (sit, sleep, pose, rest…) like ``small``; anything else like ``medium``.
    """
    if amplitude in AMPLITUDES:
        return AMPLITUDES[amplitude]
    if _ACTION.search(prompt):
        return AMPLITUDES["large"]
    if _CALM.search(prompt):
        return AMPLITUDES["small"]
    return AMPLITUDES["medium"]


@dataclass
class Camera:
    """A seeded camera move over the subject plane: zoom from start to end and a pan, both eased,
    plus a slow sinusoidal drift (amplitude, frequency, phase)."""

    zoom: tuple[float, float]  # start, end
    pan: tuple[float, float]  # px over the whole clip, for the subject plane
    drift: tuple[float, float, float]  # amplitude px, frequency Hz, phase

    def at(self, u: float, t: float) -> tuple[float, float, float]:
        """(zoom, tx, ty) at clip fraction ``u`` and time ``t`` seconds."""
        e = 0.5 - 0.5 * math.cos(math.pi * u)
        z = self.zoom[0] + (self.zoom[1] - self.zoom[0]) * e
        amp, freq, phase = self.drift
        wobble = amp * (math.sin(2 * math.pi * freq * t + phase) - math.sin(phase))
        return z, self.pan[0] * e + wobble, self.pan[1] * e + 0.5 * wobble

    def scaled(self, k: float) -> Camera:
        z0, z1 = self.zoom
        return Camera(
            zoom=(1 + (z0 - 1) * k, 1 + (z1 - 1) * k),
            pan=(self.pan[0] * k, self.pan[1] * k),
            drift=(self.drift[0] * k, self.drift[1], self.drift[2]),
        )

    def keeps_inside(self, content: Box, width: int, height: int) -> bool:
        """True when ``content`` stays in the frame (a 1% border) for every zoom and pan it can take."""
        zs = self.zoom
        amp = 2 * abs(self.drift[0])
        xs = (min(0.0, self.pan[0]) - amp, max(0.0, self.pan[0]) + amp)
        ys = (min(0.0, self.pan[1]) - amp / 2, max(0.0, self.pan[1]) + amp / 2)
        cx, cy = width / 2, height / 2
        px, py = 0.01 * width, 0.01 * height
        for z in zs:
            if cx + z * (content.x0 - cx) + xs[0] < px or cx + z * (content.x1 - cx) + xs[1] > width - px:
                return False
            if cy + z * (content.y0 - cy) + ys[0] < py or cy + z * (content.y1 - cy) + ys[1] > height - py:
                return False
        return True
