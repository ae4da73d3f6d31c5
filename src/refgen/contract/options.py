"""One model's rules for one endpoint: what may be asked for, the defaults, and what it costs.

:mod:`refgen.contract.catalogue` holds the table of these; validation, the console and the docs read
that table, so nothing else hard-codes "1080p".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from refgen.domain import TaskKind

AUDIO_CREDITS = 2  # audio: true adds this per task, except on models whose price includes it
IS_REC_CREDITS = 1  # is_rec: true (the server writes the prompt) adds this per task


@dataclass(frozen=True)
class DurationOption:
    """The resolutions allowed at one duration, with the default and credits for each."""

    resolutions: tuple[str, ...]
    default_resolution: str
    credits: Mapping[str, int]  # resolution -> credits for the whole task (or per second)
    per_second: bool = False  # credits are per second of video


@dataclass(frozen=True)
class ModelOptions:
    """What one model accepts for one task kind, and which fields take effect for it."""

    kind: TaskKind
    model: str
    min_images: int
    max_images: int
    prompt_max: int
    aspect_ratios: tuple[str, ...]  # () when the output follows the (start) picture's ratio
    durations: Mapping[int, DurationOption]  # video: duration -> options; image: {0: options}
    default_duration: int
    amplitude_ignored: bool = False
    allows_auto_ratio: bool = False
    prompt_required: bool = True
    style: bool = False  # the body takes `style` (text2video)
    style_effective: bool = False  # ... and it changes the look (viduq1, vidu1.5)
    audio: bool = False  # `audio: true` is available
    native_audio: bool = False  # q3: audio is on by default and in the price, bgm has no effect,
    # and audio may run off-peak
    is_rec: bool = False  # the body takes `is_rec` (the server writes the prompt)
    unwanted: tuple[str, ...] = ()  # fields refused when sent non-empty (FieldUnwanted)

    def option_for(self, duration: int) -> DurationOption:
        return self.durations[duration]

    @property
    def audio_default(self) -> bool:
        return self.native_audio

    @property
    def bgm_effective(self) -> bool:
        return not self.native_audio

    def credits(
        self, duration: int, resolution: str, *, off_peak: bool, audio: bool = False, is_rec: bool = False
    ) -> int:
        """The task's price: the table's figure (per second where it says so), plus audio and
        is_rec, halved (rounded up) off-peak."""
        option = self.durations[duration]
        total = option.credits[resolution] * (duration if option.per_second else 1)
        if audio and not self.native_audio:
            total += AUDIO_CREDITS
        if is_rec:
            total += IS_REC_CREDITS
        return math.ceil(total / 2) if off_peak else total
