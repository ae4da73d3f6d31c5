"""The Vidu catalogue as data: per endpoint (task kind) and model, what may be asked for and what it costs.

Validation, the console and the docs read this table; nothing else hard-codes "1080p". Prices are
defined once per model (:data:`PER_SECOND`, :data:`PER_TASK`), so a model costs the same on every
endpoint that has it; each endpoint picks the durations and resolutions it offers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from refgen.contract.options import DurationOption as DurationOption  # the table's row types
from refgen.contract.options import ModelOptions as ModelOptions
from refgen.domain import TaskKind

AMPLITUDES = ("auto", "small", "medium", "large")
STYLES = ("general", "anime")
WM_POSITIONS = (1, 2, 3, 4)
DEFAULT_WM_POSITION = 3
PAYLOAD_MAX = 1_048_576
SEED_MAX = 2_147_483_647
VOICE_ID_MAX = 128
FPS = 24

# reference2video's subjects form
SUBJECTS_MAX = 7  # subjects, and images across all of them
SUBJECT_IMAGES_MAX = 3
SUBJECT_ID_MAX = 64
SUBJECTS_PROMPT_MAX = 2000

VIDEO_RATIOS = ("16:9", "9:16", "1:1")
Q_RATIOS = (*VIDEO_RATIOS, "4:3", "3:4")
IMAGE_RATIOS = ("16:9", "9:16", "1:1", "3:4", "4:3")

# credits per second of video, by resolution
PER_SECOND: Mapping[str, Mapping[str, int]] = {
    "viduq2": {"540p": 1, "720p": 1, "1080p": 2},
    "viduq2-turbo": {"540p": 1, "720p": 1, "1080p": 2},
    "viduq2-pro-fast": {"720p": 1, "1080p": 2},
    "viduq2-pro": {"540p": 2, "720p": 2, "1080p": 4},
    "viduq3-turbo": {"540p": 1, "720p": 2, "1080p": 2},
    "viduq3-pro": {"540p": 2, "720p": 3, "1080p": 4, "2K": 5},
}
# credits per task, by duration and resolution
PER_TASK: Mapping[str, Mapping[int, Mapping[str, int]]] = {
    "viduq1": {5: {"1080p": 8}},
    "viduq1-classic": {5: {"1080p": 8}},
    "vidu2.0": {4: {"360p": 2, "720p": 4, "1080p": 10}, 8: {"720p": 10}},
    "vidu1.5": {4: {"360p": 4, "720p": 10, "1080p": 20}, 8: {"720p": 20}},
}

Q1 = {5: ("1080p",)}
OLD = {4: ("360p", "720p", "1080p"), 8: ("720p",)}  # vidu2.0 and vidu1.5 (4 s: default 360p)
Q_RES = ("540p", "720p", "1080p")


def per_second(model: str, resolutions: tuple[str, ...], durations: range) -> dict[int, DurationOption]:
    """``durations`` seconds at ``resolutions`` (default 720p), priced per second."""
    prices = PER_SECOND[model]
    option = DurationOption(resolutions, "720p", {r: prices[r] for r in resolutions}, per_second=True)
    return {d: option for d in durations}


def per_task(model: str, resolutions: Mapping[int, tuple[str, ...]]) -> dict[int, DurationOption]:
    """Fixed durations, each with its resolutions (the first is the default), priced per task."""
    prices = PER_TASK[model]
    return {d: DurationOption(rs, rs[0], {r: prices[d][r] for r in rs}) for d, rs in resolutions.items()}


def _reference(
    model: str,
    durations: dict[int, DurationOption],
    *,
    prompt_max: int = 1500,
    ratios: tuple[str, ...] = VIDEO_RATIOS,
    amplitude_ignored: bool = False,
    unwanted: tuple[str, ...] = (),
) -> ModelOptions:
    return ModelOptions(
        kind=TaskKind.VIDEO,
        model=model,
        min_images=1,
        max_images=7,
        prompt_max=prompt_max,
        aspect_ratios=ratios,
        durations=durations,
        default_duration=5 if 5 in durations else min(durations),
        amplitude_ignored=amplitude_ignored,
        audio=True,
        unwanted=unwanted,
    )


def _text(
    model: str,
    durations: dict[int, DurationOption],
    *,
    ratios: tuple[str, ...] = VIDEO_RATIOS,
    q3: bool = False,
    amplitude_ignored: bool = False,
    style_effective: bool = False,
) -> ModelOptions:
    return ModelOptions(
        kind=TaskKind.TEXT_TO_VIDEO,
        model=model,
        min_images=0,
        max_images=0,
        prompt_max=5000 if q3 else 2000,
        aspect_ratios=ratios,
        durations=durations,
        default_duration=5 if 5 in durations else min(durations),
        amplitude_ignored=amplitude_ignored or q3,
        style=True,
        style_effective=style_effective,
        audio=q3,
        native_audio=q3,
    )


def _frames(
    kind: TaskKind, model: str, durations: dict[int, DurationOption], *, q3: bool = False
) -> ModelOptions:
    """img2video (one picture, audio on every model) or start-end2video (two, audio on q3 only)."""
    count = 1 if kind is TaskKind.IMAGE_TO_VIDEO else 2
    return ModelOptions(
        kind=kind,
        model=model,
        min_images=count,
        max_images=count,
        prompt_max=5000 if q3 else 2000,
        aspect_ratios=(),
        durations=durations,
        default_duration=5 if 5 in durations else min(durations),
        amplitude_ignored=q3,
        prompt_required=False,
        audio=q3 or kind is TaskKind.IMAGE_TO_VIDEO,
        native_audio=q3,
        is_rec=True,
    )


_REFERENCE = (
    _reference(
        "viduq2",
        per_second("viduq2", Q_RES, range(1, 11)),
        prompt_max=2000,
        ratios=Q_RATIOS,
        amplitude_ignored=True,
    ),
    _reference("viduq1", per_task("viduq1", Q1)),
    _reference("vidu2.0", per_task("vidu2.0", {4: ("360p", "720p")})),
    _reference("vidu1.5", per_task("vidu1.5", OLD)),
    # Decision (aggregator pages): two more q2 models; their `videos` references are not served
    _reference(
        "viduq2-pro",
        per_second("viduq2-pro", Q_RES, range(1, 11)),
        prompt_max=2000,
        ratios=Q_RATIOS,
        unwanted=("videos",),
    ),
    _reference(
        "viduq2-pro-fast",
        per_second("viduq2-pro-fast", ("720p", "1080p"), range(1, 11)),
        prompt_max=2000,
        ratios=Q_RATIOS,
        unwanted=("videos",),
    ),
)

_TEXT = (
    _text("viduq3-pro", per_second("viduq3-pro", Q_RES, range(1, 17)), ratios=Q_RATIOS, q3=True),
    _text("viduq3-turbo", per_second("viduq3-turbo", Q_RES, range(1, 17)), ratios=Q_RATIOS, q3=True),
    _text("viduq2", per_second("viduq2", Q_RES, range(1, 11)), ratios=Q_RATIOS, amplitude_ignored=True),
    _text("viduq1", per_task("viduq1", Q1), style_effective=True),
    _text("vidu1.5", per_task("vidu1.5", OLD), style_effective=True),
)


def _frame_models(kind: TaskKind, q2_durations: range) -> tuple[ModelOptions, ...]:
    return (
        _frames(
            kind,
            "viduq3-pro",
            per_second(
                "viduq3-pro", (*Q_RES, "2K") if kind is TaskKind.IMAGE_TO_VIDEO else Q_RES, range(1, 17)
            ),
            q3=True,
        ),
        _frames(kind, "viduq3-turbo", per_second("viduq3-turbo", Q_RES, range(1, 17)), q3=True),
        _frames(kind, "viduq2-pro-fast", per_second("viduq2-pro-fast", ("720p", "1080p"), q2_durations)),
        _frames(kind, "viduq2-pro", per_second("viduq2-pro", Q_RES, q2_durations)),
        _frames(kind, "viduq2-turbo", per_second("viduq2-turbo", Q_RES, q2_durations)),
        _frames(kind, "viduq1", per_task("viduq1", Q1)),
        _frames(kind, "viduq1-classic", per_task("viduq1-classic", Q1)),
        _frames(kind, "vidu2.0", per_task("vidu2.0", OLD)),
        _frames(kind, "vidu1.5", per_task("vidu1.5", OLD)),
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

CATALOGUE: Catalogue = {
    (m.kind, m.model): m
    for m in (
        *_REFERENCE,
        *_IMAGE,
        *_TEXT,
        *_frame_models(TaskKind.IMAGE_TO_VIDEO, range(1, 11)),
        *_frame_models(TaskKind.START_END_TO_VIDEO, range(1, 9)),
    )
}

PUBLIC_MODELS: tuple[str, ...] = tuple(dict.fromkeys(model for _, model in CATALOGUE))
"""Every public model name of every endpoint, each once."""


def models_for(kind: TaskKind, catalogue: Catalogue = CATALOGUE) -> tuple[str, ...]:
    return tuple(model for (k, model) in catalogue if k is kind)


def lookup(kind: TaskKind, model: str, catalogue: Catalogue = CATALOGUE) -> ModelOptions | None:
    return catalogue.get((kind, model))


def with_credits(overrides: Mapping[str, Any], catalogue: Catalogue = CATALOGUE) -> Catalogue:
    """The catalogue with the operator's credit figures (``REFGEN_CREDITS``) in place of the defaults.

    Shape: ``{"<video endpoint>": {"<model>": {"<duration>" or "*": {"<resolution>": credits}}},
    "reference2image": {"<model>": {"<resolution>": credits}}}``, for every endpoint
    (``reference2video``, ``text2video``, ``img2video``, ``start-end2video``). ``"*"`` means every
    duration of the model; per-second figures stay per second, as the defaults are. Unknown names
    raise ValueError.
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
    """The catalogue in a shape a browser or script can read (served at ``/ent/v2/models``): for
    every endpoint and model, enough to build its form."""
    out: dict[str, object] = {}
    for kind in TaskKind:
        out[kind.value] = {
            model: _model_json(catalogue[(kind, model)]) for model in models_for(kind, catalogue)
        }
    return out


def _model_json(options: ModelOptions) -> dict[str, object]:
    video = options.kind.makes_video
    subjects = options.kind is TaskKind.VIDEO
    return {
        "images": {"min": options.min_images, "max": options.max_images},
        "prompt_max": options.prompt_max,
        "prompt_required": options.prompt_required,
        # [] when the output takes the (start) picture's ratio (img2video, start-end2video)
        "aspect_ratios": list(options.aspect_ratios) + (["auto"] if options.allows_auto_ratio else []),
        "default_aspect_ratio": options.aspect_ratios[0] if options.aspect_ratios else None,
        "default_duration": options.default_duration if video else None,
        "durations": {
            str(d): {
                "resolutions": list(o.resolutions),
                "default_resolution": o.default_resolution,
                "credits": dict(o.credits),
                "credits_per_second": o.per_second,
            }
            for d, o in options.durations.items()
        },
        "movement_amplitudes": list(AMPLITUDES) if video else [],
        "movement_amplitude_ignored": options.amplitude_ignored,
        "styles": list(STYLES) if options.style else [],
        "style_effective": options.style_effective,
        "bgm": video,
        "bgm_effective": video and options.bgm_effective,
        "audio": {"available": options.audio, "default": options.audio_default},
        "is_rec": options.is_rec,
        "subjects": (
            {
                "max": SUBJECTS_MAX,
                "images_max": SUBJECT_IMAGES_MAX,
                "images_in_all_max": min(SUBJECTS_MAX, options.max_images),
                "id_max": SUBJECT_ID_MAX,
                "prompt_max": SUBJECTS_PROMPT_MAX,
            }
            if subjects
            else None
        ),
    }
