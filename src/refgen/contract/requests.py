"""Turn a create request's JSON body into a validated :class:`CreateRequest`.

Lenient as the originals' own examples need: ints and bools may arrive as JSON strings, ``null``
means "not given", unknown fields are ignored. Every refusal names its field. Checks that need the
image bytes (format, size, ratio) happen later, in :mod:`refgen.media.images`, once they are fetched.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from refgen.contract.bodies import BOOL_STRING_RE, INT_STRING_RE
from refgen.contract.catalogue import (
    AMPLITUDES,
    CATALOGUE,
    DEFAULT_WM_POSITION,
    PAYLOAD_MAX,
    PUBLIC_MODELS,
    SEED_MAX,
    WM_POSITIONS,
    Catalogue,
    ModelOptions,
    lookup,
)
from refgen.domain import TaskKind, TaskSpec
from refgen.errors import (
    FieldInvalid,
    FieldItemCountOutOfRange,
    FieldLacking,
    ModelUnavailable,
)

_DATA_URL = re.compile(r"^data:", re.IGNORECASE)


@dataclass(frozen=True)
class CreateRequest:
    """A create request that passed every check that needs no image bytes."""

    spec: TaskSpec
    images: tuple[str, ...]  # as sent: URLs or data URLs
    wm_url: str | None


def random_seed() -> int:
    return secrets.randbelow(SEED_MAX) + 1


def parse_create(
    kind: TaskKind,
    body: object,
    *,
    served_models: Collection[str] | None = None,
    seed_source: Callable[[], int] = random_seed,
    catalogue: Catalogue = CATALOGUE,
) -> CreateRequest:
    """Validate ``body`` for ``kind``. ``served_models``: public models this deployment serves
    (None = all). Raises a :class:`~refgen.errors.RequestError` subclass on the first problem."""
    if not isinstance(body, Mapping):
        raise FieldInvalid("request body must be a JSON object", field="body")
    fields: Mapping[str, Any] = body

    options = _model(kind, fields.get("model"), catalogue)
    images = _images(fields.get("images"), options)
    prompt = _prompt(fields.get("prompt"), options)

    if kind is TaskKind.VIDEO:
        duration = _choice_int(fields, "duration", options.default_duration, tuple(options.durations))
    else:
        duration = 0
    duration_option = options.option_for(duration)
    resolution = _choice_str(
        fields, "resolution", duration_option.default_resolution, duration_option.resolutions
    )

    ratios = options.aspect_ratios + (("auto",) if options.allows_auto_ratio else ())
    aspect_ratio = _choice_str(fields, "aspect_ratio", options.aspect_ratios[0], ratios)
    if aspect_ratio == "auto" and not images:
        raise FieldInvalid(
            "invalid field: aspect_ratio (auto needs at least one image)", field="aspect_ratio"
        )

    video = kind is TaskKind.VIDEO
    amplitude = _choice_str(fields, "movement_amplitude", "auto", AMPLITUDES) if video else None
    bgm = _bool(fields, "bgm") if video else False
    off_peak = _bool(fields, "off_peak") if video else False
    watermark = _bool(fields, "watermark") if video else False
    wm_position = _choice_int(fields, "wm_position", DEFAULT_WM_POSITION, WM_POSITIONS) if video else 3
    wm_url = _image_ref(fields.get("wm_url"), "wm_url") if video and _given(fields.get("wm_url")) else None

    seed = _int(fields, "seed", 0)
    if not 0 <= seed <= SEED_MAX:
        raise FieldInvalid(f"invalid field: seed (0 to {SEED_MAX})", field="seed")
    if seed == 0:
        seed = seed_source()

    payload = _string(fields, "payload")
    if len(payload) > PAYLOAD_MAX:
        raise FieldInvalid(f"invalid field: payload (at most {PAYLOAD_MAX} characters)", field="payload")
    meta_data = _string(fields, "meta_data")
    callback_url = _string(fields, "callback_url").strip()
    if callback_url:
        _http_url(callback_url, "callback_url")

    if served_models is not None and options.model not in served_models:
        raise ModelUnavailable(f"model {options.model} is not served by this deployment", field="model")

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
        credits=options.credits(duration, resolution, off_peak=off_peak),
    )
    return CreateRequest(spec=spec, images=images, wm_url=wm_url)


# one function per kind of field ---------------------------------------------------------------------


def _given(value: object) -> bool:
    return value is not None and value != ""


def _model(kind: TaskKind, value: object, catalogue: Catalogue) -> ModelOptions:
    if not _given(value):
        raise FieldLacking(field="model")
    if not isinstance(value, str):
        raise FieldInvalid(field="model")
    options = lookup(kind, value, catalogue)
    if options is None:
        known = ", ".join(m for m in PUBLIC_MODELS if lookup(kind, m, catalogue))
        raise FieldInvalid(f"invalid field: model (accepted for {kind.value}: {known})", field="model")
    return options


def _images(value: object, options: ModelOptions) -> tuple[str, ...]:
    if value is None or value == []:
        if options.min_images == 0:
            return ()
        if options.kind is TaskKind.VIDEO:
            raise FieldLacking(field="images")
        raise FieldItemCountOutOfRange(
            f"field item count out of range: images ({options.model} takes "
            f"{options.min_images} to {options.max_images})",
            field="images",
        )
    if not isinstance(value, list):
        raise FieldInvalid("invalid field: images (must be a list of URLs or data URLs)", field="images")
    if not options.min_images <= len(value) <= options.max_images:
        raise FieldItemCountOutOfRange(
            f"field item count out of range: images ({options.model} takes "
            f"{options.min_images} to {options.max_images}, got {len(value)})",
            field="images",
        )
    return tuple(_image_ref(item, f"images[{i}]") for i, item in enumerate(value))


def _image_ref(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldInvalid(f"invalid field: {field} (must be a URL or a data URL)", field=field)
    if _DATA_URL.match(value):
        return value
    _http_url(value.strip(), field)
    return value


def _http_url(value: str, field: str) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise FieldInvalid(f"invalid field: {field} (not a valid URL)", field=field) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in value:
        raise FieldInvalid(f"invalid field: {field} (must be an http or https URL)", field=field)


def _prompt(value: object, options: ModelOptions) -> str:
    if value is None or value == "":
        raise FieldLacking(field="prompt")
    if not isinstance(value, str):
        raise FieldInvalid("invalid field: prompt (must be a string)", field="prompt")
    if not value.strip():
        raise FieldLacking(field="prompt")
    if len(value) > options.prompt_max:
        raise FieldInvalid(
            f"invalid field: prompt ({options.model} takes at most {options.prompt_max} characters, "
            f"got {len(value)})",
            field="prompt",
        )
    return value


def _int(fields: Mapping[str, Any], name: str, default: int) -> int:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise FieldInvalid(f"invalid field: {name} (must be an integer)", field=name)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and INT_STRING_RE.fullmatch(value):
        return int(value)
    raise FieldInvalid(f"invalid field: {name} (must be an integer)", field=name)


def _bool(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and BOOL_STRING_RE.fullmatch(value):
        return value.strip().lower() == "true"
    raise FieldInvalid(f"invalid field: {name} (must be true or false)", field=name)


def _string(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldInvalid(f"invalid field: {name} (must be a string)", field=name)
    return value


def _choice_int(fields: Mapping[str, Any], name: str, default: int, allowed: tuple[int, ...]) -> int:
    value = _int(fields, name, default)
    if value not in allowed:
        raise FieldInvalid(f"invalid field: {name} (accepted: {_describe(allowed)})", field=name)
    return value


def _choice_str(fields: Mapping[str, Any], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value not in allowed:
        raise FieldInvalid(f"invalid field: {name} (accepted: {', '.join(allowed)})", field=name)
    return value


def _describe(allowed: tuple[int, ...]) -> str:
    ordered = sorted(allowed)
    if len(ordered) > 3 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]} to {ordered[-1]}"
    return ", ".join(str(v) for v in ordered)
