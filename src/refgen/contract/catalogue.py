"""The Vidu catalogue as data: per task kind and model, what may be asked for and what it costs.

Validation, the console and the docs read this table; nothing else hard-codes "1080p".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from refgen.domain import TaskKind

PUBLIC_MODELS = ("viduq2", "viduq1", "vidu2.0", "vidu1.5")
AMPLITUDES = ("auto", "small", "medium", "large")
WM_POSITIONS = (1, 2, 3, 4)
DEFAULT_WM_POSITION = 3
PAYLOAD_MAX = 1_048_576
SEED_MAX = 2_147_483_647
FPS = 24

VIDEO_RATIOS = ("16:9", "9:16", "1:1")
IMAGE_RATIOS = ("16:9", "9:16", "1:1", "3:4", "4:3")


@dataclass(frozen=True)
class DurationOption:
    """The resolutions allowed at one duration, with the default and credits for each."""

    resolutions: tuple[str, ...]
    default_resolution: str
    credits: Mapping[str, int]  # resolution -> credits for the whole task
    per_second: bool = False  # credits are per second of video


@dataclass(frozen=True)
class ModelOptions:
    """What one model accepts for one task kind."""

    kind: TaskKind
    model: str
    min_images: int
    max_images: int
    prompt_max: int
    aspect_ratios: tuple[str, ...]
    durations: Mapping[int, DurationOption]  # video: duration -> options; image: {0: options}
    default_duration: int
    amplitude_ignored: bool = False
    allows_auto_ratio: bool = False

    def option_for(self, duration: int) -> DurationOption:
        return self.durations[duration]

    def credits(self, duration: int, resolution: str, *, off_peak: bool) -> int:
        option = self.durations[duration]
        base = option.credits[resolution] * (duration if option.per_second else 1)
        return math.ceil(base / 2) if off_peak else base


def _same(
    resolutions: tuple[str, ...],
    default: str,
    credits: Mapping[str, int],
    *,
    per_second: bool = False,
    durations: range | tuple[int, ...],
) -> dict[int, DurationOption]:
    option = DurationOption(resolutions, default, dict(credits), per_second)
    return {d: option for d in durations}


_VIDEO = (
    ModelOptions(
        kind=TaskKind.VIDEO,
        model="viduq2",
        min_images=1,
        max_images=7,
        prompt_max=2000,
        aspect_ratios=(*VIDEO_RATIOS, "4:3", "3:4"),
        durations=_same(
            ("540p", "720p", "1080p"),
            "720p",
            {"540p": 1, "720p": 1, "1080p": 2},
            per_second=True,
            durations=range(1, 11),
        ),
        default_duration=5,
        amplitude_ignored=True,
    ),
    ModelOptions(
        kind=TaskKind.VIDEO,
        model="viduq1",
        min_images=1,
        max_images=7,
        prompt_max=1500,
        aspect_ratios=VIDEO_RATIOS,
        durations={5: DurationOption(("1080p",), "1080p", {"1080p": 8})},
        default_duration=5,
    ),
    ModelOptions(
        kind=TaskKind.VIDEO,
        model="vidu2.0",
        min_images=1,
        max_images=7,
        prompt_max=1500,
        aspect_ratios=VIDEO_RATIOS,
        durations={4: DurationOption(("360p", "720p"), "360p", {"360p": 2, "720p": 4})},
        default_duration=4,
    ),
    ModelOptions(
        kind=TaskKind.VIDEO,
        model="vidu1.5",
        min_images=1,
        max_images=7,
        prompt_max=1500,
        aspect_ratios=VIDEO_RATIOS,
        durations={
            4: DurationOption(("360p", "720p", "1080p"), "360p", {"360p": 4, "720p": 10, "1080p": 20}),
            8: DurationOption(("720p",), "720p", {"720p": 20}),
        },
        default_duration=4,
    ),
)

_IMAGE = (
    ModelOptions(
        kind=TaskKind.IMAGE,
        model="viduq2",
        min_images=0,
        max_images=7,
        prompt_max=2000,
        aspect_ratios=(*IMAGE_RATIOS, "21:9", "2:3", "3:2"),
        durations={0: DurationOption(("1080p", "2K", "4K"), "1080p", {"1080p": 1, "2K": 2, "4K": 4})},
        default_duration=0,
        allows_auto_ratio=True,
    ),
    ModelOptions(
        kind=TaskKind.IMAGE,
        model="viduq1",
        min_images=1,
        max_images=7,
        prompt_max=2000,
        aspect_ratios=IMAGE_RATIOS,
        durations={0: DurationOption(("1080p",), "1080p", {"1080p": 1})},
        default_duration=0,
        allows_auto_ratio=True,
    ),
)

Catalogue = Mapping[tuple[TaskKind, str], ModelOptions]

CATALOGUE: Catalogue = {(m.kind, m.model): m for m in (*_VIDEO, *_IMAGE)}


def models_for(kind: TaskKind, catalogue: Catalogue = CATALOGUE) -> tuple[str, ...]:
    return tuple(model for (k, model) in catalogue if k is kind)


def lookup(kind: TaskKind, model: str, catalogue: Catalogue = CATALOGUE) -> ModelOptions | None:
    return catalogue.get((kind, model))


def with_credits(overrides: Mapping[str, Any], catalogue: Catalogue = CATALOGUE) -> Catalogue:
    """The catalogue with the operator's credit figures (``REFGEN_CREDITS``) in place of the defaults.

    Shape: ``{"reference2video": {"<model>": {"<duration>" or "*": {"<resolution>": credits}}},
    "reference2image": {"<model>": {"<resolution>": credits}}}``. ``"*"`` means every duration of the
    model; viduq2 video figures are per second, as the defaults are. Unknown names raise ValueError.
    """
    table = dict(catalogue)
    for kind_name, models in overrides.items():
        try:
            kind = TaskKind(kind_name)
        except ValueError:
            raise ValueError(f"credits: unknown task kind {kind_name!r}") from None
        for model, figures in _mapping(models, kind_name).items():
            options = table.get((kind, model))
            if options is None:
                raise ValueError(f"credits: {kind_name} has no model {model!r}")
            per_duration = (
                {"0": figures} if kind is TaskKind.IMAGE else _mapping(figures, f"{kind_name}.{model}")
            )
            durations = dict(options.durations)
            for duration_name, prices in per_duration.items():
                chosen = list(durations) if duration_name == "*" else [_duration(duration_name, options)]
                for duration in chosen:
                    durations[duration] = _priced(durations[duration], _mapping(prices, model), model)
            table[(kind, model)] = replace(options, durations=durations)
    return table


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"credits: {where} must be an object")
    return value


def _duration(name: str, options: ModelOptions) -> int:
    if not name.isdigit() or int(name) not in options.durations:
        raise ValueError(f"credits: {options.model} has no duration {name!r}")
    return int(name)


def _priced(option: DurationOption, prices: Mapping[str, Any], model: str) -> DurationOption:
    credits = dict(option.credits)
    for resolution, value in prices.items():
        if resolution not in option.resolutions:
            raise ValueError(f"credits: {model} has no resolution {resolution!r} here")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"credits: {model} {resolution} must be a whole number of credits, 0 or more")
        credits[resolution] = value
    return replace(option, credits=credits)


def catalogue_as_json(catalogue: Catalogue = CATALOGUE) -> dict[str, object]:
    """The catalogue in a shape a browser or script can read (served at ``/ent/v2/models``)."""
    out: dict[str, object] = {}
    for kind in TaskKind:
        models: dict[str, object] = {}
        for model in models_for(kind, catalogue):
            options = catalogue[(kind, model)]
            models[model] = {
                "images": {"min": options.min_images, "max": options.max_images},
                "prompt_max": options.prompt_max,
                "aspect_ratios": list(options.aspect_ratios)
                + (["auto"] if options.allows_auto_ratio else []),
                "default_aspect_ratio": options.aspect_ratios[0],
                "default_duration": options.default_duration if kind is TaskKind.VIDEO else None,
                "durations": {
                    str(d): {
                        "resolutions": list(o.resolutions),
                        "default_resolution": o.default_resolution,
                        "credits": dict(o.credits),
                        "credits_per_second": o.per_second,
                    }
                    for d, o in options.durations.items()
                },
                "movement_amplitudes": list(AMPLITUDES) if kind is TaskKind.VIDEO else [],
                "movement_amplitude_ignored": options.amplitude_ignored,
            }
        out[kind.value] = models
    return out
