"""Turn a create request's JSON body into a validated :class:`CreateRequest`.

Lenient as the originals' own examples need (:mod:`refgen.contract.fields`): ints and bools may
arrive as JSON strings, ``null`` means "not given", unknown fields are ignored. Every refusal names
its field. Checks that need the image bytes (format, size, ratio, start/end frames) happen later,
in :mod:`refgen.media.images` and :mod:`refgen.service`, once they are fetched.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from refgen.contract.catalogue import (
    AMPLITUDES,
    CATALOGUE,
    DEFAULT_WM_POSITION,
    PAYLOAD_MAX,
    SEED_MAX,
    STYLES,
    SUBJECTS_PROMPT_MAX,
    VOICE_ID_MAX,
    WM_POSITIONS,
    Catalogue,
    ModelOptions,
    lookup,
    models_for,
)
from refgen.contract.fields import (
    Fields,
    boolean,
    choice_int,
    choice_str,
    given,
    http_url,
    image_ref,
    integer,
    string,
)
from refgen.contract.subjects import parse_subjects, uses_subjects
from refgen.domain import Subject, TaskKind, TaskSpec
from refgen.errors import (
    FieldInvalid,
    FieldItemCountOutOfRange,
    FieldLacking,
    FieldUnwanted,
    ModelUnavailable,
)

PICTURE_RATIO = "auto"
"""The aspect ratio of a task whose frame follows its first picture (reference2image's ``auto``;
img2video and start-end2video until the service knows the picture's size)."""


@dataclass(frozen=True)
class CreateRequest:
    """A create request that passed every check that needs no image bytes."""

    spec: TaskSpec
    images: tuple[str, ...]  # as sent: URLs or data URLs (the subjects form's, flattened)
    wm_url: str | None
    image_fields: tuple[str, ...] = ()  # where each image was written; images[i] when empty

    def field_of(self, index: int) -> str:
        return self.image_fields[index] if self.image_fields else f"images[{index}]"


def random_seed() -> int:
    return secrets.randbelow(SEED_MAX) + 1


def parse_create(
    kind: TaskKind,
    body: object,
    *,
    served_models: Collection[str] | None = None,
    speaking_models: Collection[str] | None = None,
    seed_source: Callable[[], int] = random_seed,
    catalogue: Catalogue = CATALOGUE,
) -> CreateRequest:
    """Validate ``body`` for ``kind``. ``served_models``: public models this deployment serves
    (None = all); ``speaking_models``: those whose backend can speak (None = all). Raises a
    :class:`~refgen.errors.RequestError` subclass on the first problem."""
    if not isinstance(body, Mapping):
        raise FieldInvalid("request body must be a JSON object", field="body")
    fields: Fields = body

    options = _model(kind, fields.get("model"), catalogue)
    for name in options.unwanted:
        if fields.get(name) not in (None, "", []):
            raise FieldUnwanted(f"unwanted field: {name} ({options.model} does not take it here)", field=name)
    subjects: tuple[Subject, ...] = ()
    image_fields: tuple[str, ...] = ()
    if kind is TaskKind.VIDEO and uses_subjects(fields):
        form = parse_subjects(fields.get("subjects"), options)
        subjects, images, image_fields = form.subjects, form.images, form.image_fields
        prompt = _prompt(fields.get("prompt"), options, SUBJECTS_PROMPT_MAX)
    else:
        images = _images(fields, options)
        prompt = _prompt(fields.get("prompt"), options, options.prompt_max)

    video = kind.makes_video
    duration = (
        choice_int(fields, "duration", options.default_duration, tuple(options.durations)) if video else 0
    )
    duration_option = options.option_for(duration)
    resolution = choice_str(
        fields, "resolution", duration_option.default_resolution, duration_option.resolutions
    )
    aspect_ratio = _aspect_ratio(fields, options, images)

    amplitude = choice_str(fields, "movement_amplitude", "auto", AMPLITUDES) if video else None
    bgm = boolean(fields, "bgm") if video else False
    off_peak = boolean(fields, "off_peak") if video else False
    watermark = boolean(fields, "watermark") if video else False
    wm_position = choice_int(fields, "wm_position", DEFAULT_WM_POSITION, WM_POSITIONS) if video else 3
    wm_url = image_ref(fields.get("wm_url"), "wm_url") if video and given(fields.get("wm_url")) else None
    style = choice_str(fields, "style", STYLES[0], STYLES) if options.style else STYLES[0]
    is_rec = boolean(fields, "is_rec") if options.is_rec else False
    voice_id = string(fields, "voice_id", max_length=VOICE_ID_MAX) if video else ""

    seed = integer(fields, "seed", 0)
    if not 0 <= seed <= SEED_MAX:
        raise FieldInvalid(f"invalid field: seed (0 to {SEED_MAX})", field="seed")
    if seed == 0:
        seed = seed_source()

    payload = string(fields, "payload")
    if len(payload) > PAYLOAD_MAX:
        raise FieldInvalid(f"invalid field: payload (at most {PAYLOAD_MAX} characters)", field="payload")
    meta_data = string(fields, "meta_data")
    if len(meta_data) > PAYLOAD_MAX:
        raise FieldInvalid(f"invalid field: meta_data (at most {PAYLOAD_MAX} characters)", field="meta_data")
    callback_url = string(fields, "callback_url").strip()
    if callback_url:
        http_url(callback_url, "callback_url")

    if served_models is not None and options.model not in served_models:
        raise ModelUnavailable(f"model {options.model} is not served by this deployment", field="model")
    speaks = speaking_models is None or options.model in speaking_models
    audio = _audio(fields, options, speaks=speaks) if video else False
    if audio and off_peak and not options.native_audio:
        raise FieldInvalid("invalid field: off_peak (audio is not made off-peak)", field="off_peak")

    spec = TaskSpec(
        kind=kind,
        model=options.model,
        prompt=prompt,
        image_count=len(images),
        duration=duration if video else None,
        resolution=resolution,
        aspect_ratio=aspect_ratio,
        movement_amplitude=amplitude,
        bgm=bgm,
        seed=seed,
        off_peak=off_peak,
        watermark=watermark,
        wm_position=wm_position,
        payload=payload,
        callback_url=callback_url,
        meta_data=meta_data,
        credits=options.credits(duration, resolution, off_peak=off_peak, audio=audio, is_rec=is_rec),
        style=style,
        audio=audio,
        voice_id=voice_id,
        is_rec=is_rec,
        subjects=subjects,
    )
    return CreateRequest(spec=spec, images=images, wm_url=wm_url, image_fields=image_fields)


# the fields whose rules depend on the model ----------------------------------------------------------


def _model(kind: TaskKind, value: object, catalogue: Catalogue) -> ModelOptions:
    if not given(value):
        raise FieldLacking(field="model")
    if not isinstance(value, str):
        raise FieldInvalid(field="model")
    options = lookup(kind, value, catalogue)
    if options is None:
        known = ", ".join(models_for(kind, catalogue))
        raise FieldInvalid(f"invalid field: model (accepted for {kind.value}: {known})", field="model")
    return options


def _images(fields: Fields, options: ModelOptions) -> tuple[str, ...]:
    if options.max_images == 0:
        return ()  # not a field of this endpoint (text2video): ignored like any unknown field
    value = fields.get("images")
    if value is None or value == []:
        if options.min_images == 0:
            return ()
        if options.kind.makes_video:
            raise FieldLacking(field="images")
        raise FieldItemCountOutOfRange(
            f"field item count out of range: images ({options.model} takes "
            f"{options.min_images} to {options.max_images})",
            field="images",
        )
    if not isinstance(value, list):
        raise FieldInvalid("invalid field: images (must be a list of URLs or data URLs)", field="images")
    if not options.min_images <= len(value) <= options.max_images:
        takes = (
            f"exactly {options.min_images}"
            if options.min_images == options.max_images
            else f"{options.min_images} to {options.max_images}"
        )
        raise FieldItemCountOutOfRange(
            f"field item count out of range: images ({options.kind.value} with {options.model} takes "
            f"{takes}, got {len(value)})",
            field="images",
        )
    return tuple(image_ref(item, f"images[{i}]") for i, item in enumerate(value))


def _prompt(value: object, options: ModelOptions, most: int) -> str:
    if not options.prompt_required and (value is None or value == ""):
        return ""
    if value is None or value == "":
        raise FieldLacking(field="prompt")
    if not isinstance(value, str):
        raise FieldInvalid("invalid field: prompt (must be a string)", field="prompt")
    if options.prompt_required and not value.strip():
        raise FieldLacking(field="prompt")
    if len(value) > most:
        raise FieldInvalid(
            f"invalid field: prompt ({options.model} takes at most {most} characters, got {len(value)})",
            field="prompt",
        )
    return value


def _aspect_ratio(fields: Fields, options: ModelOptions, images: tuple[str, ...]) -> str:
    if not options.aspect_ratios:
        return PICTURE_RATIO  # not a field here: the frame follows the (start) picture, whatever was sent
    ratios = options.aspect_ratios + (("auto",) if options.allows_auto_ratio else ())
    aspect_ratio = choice_str(fields, "aspect_ratio", options.aspect_ratios[0], ratios)
    if aspect_ratio == "auto" and not images:
        raise FieldInvalid(
            "invalid field: aspect_ratio (auto needs at least one image)", field="aspect_ratio"
        )
    return aspect_ratio


def _audio(fields: Fields, options: ModelOptions, *, speaks: bool) -> bool:
    """``audio``: refused where the endpoint does not offer it for the model, and where this
    deployment's backend for the model cannot speak (never silence instead); its default (true on
    the q3 models) applies only where the backend speaks."""
    audio = boolean(fields, "audio", default=options.audio_default and speaks)
    if audio and not options.audio:
        raise FieldInvalid(
            f"invalid field: audio ({options.kind.value} with {options.model} makes no speech)", field="audio"
        )
    if audio and not speaks:
        raise FieldInvalid(
            f"invalid field: audio (the backend serving {options.model} here cannot speak)", field="audio"
        )
    return audio
