"""Create request bodies as pydantic models, built from the catalogue: one model per endpoint.

The models *describe* a body (they are what ``/openapi.json`` publishes); :mod:`refgen.contract.requests`
applies the per-model rules, reading the same catalogue and the same string forms defined here, so
the two cannot say different things. Every field follows the contract's lenient input: ints and
bools may be JSON strings (:data:`INT_STRING`, :data:`BOOL_STRING`), ``null`` or ``""`` means "not
given", unknown fields are ignored (``additionalProperties`` is allowed).

Rules that depend on the chosen model (its durations, resolutions per duration, ratios, image count
and prompt length) are the union over the kind's models in the schema, and spelled out per model in
each field's description. Adding an endpoint is one entry in :data:`BODY_FIELDS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, WithJsonSchema, create_model

from refgen.contract.catalogue import (
    AMPLITUDES,
    CATALOGUE,
    DEFAULT_WM_POSITION,
    PAYLOAD_MAX,
    SEED_MAX,
    STYLES,
    SUBJECT_ID_MAX,
    SUBJECT_IMAGES_MAX,
    SUBJECTS_MAX,
    SUBJECTS_PROMPT_MAX,
    VOICE_ID_MAX,
    WM_POSITIONS,
    Catalogue,
    ModelOptions,
    models_for,
)
from refgen.contract.options import IS_REC_CREDITS
from refgen.domain import TaskKind

# The whitespace the string forms tolerate around a value. Spelled out (not ``\s``) so that Python
# and the ECMA-262 regexes of JSON Schema agree on exactly the same characters.
ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
"""The whitespace a lenient value may carry around it (ASCII only: the schema's patterns say the same)."""
WS = r"[ \t\n\r\x0b\x0c]*"
"""A regular expression of :data:`ASCII_WHITESPACE`, any length (for schema patterns)."""
INT_STRING = rf"^{WS}[+-]?[0-9]+{WS}$"
"""An int sent as a JSON string: ``"5"``, ``" +5 "``, ``"-0"``."""
BOOL_STRING = rf"^{WS}(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]){WS}$"
"""A bool sent as a JSON string, in any case: ``"true"``, ``"False"``."""

INT_STRING_RE = re.compile(INT_STRING)
BOOL_STRING_RE = re.compile(BOOL_STRING)

# A 128×128 PNG (the smallest size the server accepts), for examples and the docs' "Try it out".
EXAMPLE_IMAGE = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAIAAAACAAgMAAAC+UIlYAAAACVBMVEXr8PrcKCg8PDyEQ6HnAAABB0l"
    "EQVR42u2VMRKCMBBFPwH6FB7AynPkCBQc0AMwjhVn8Q5apCdjLNRxE35ECgZnyFbL8rL7s8lkgWzZssVWRJ8thnMQKeP/KA8XGVI"
    "BsAOAGkmgNgCANglooksChXk5TQKoRk4EaLZ3CRjiSaAguQKgoq6iywoKGCpH8WPTibMgppgw+aGYRllvRolJwARxMz9DdHv1EiK"
    "ngCqMV2to2AjgwrhbQ4MP4/bnDJ+H9LqX8X6JXVgZ9gRwtJFzSnjaBjkv5D57VsIyjRJw1FV0meUz6yOi5520bEOKdcelxuK7xil"
    "1WJa0LMhwf6bo0sd9A4Dhy33wHZpodo/smF+YDGQgA/8DbMQeQbYsvez2EpsAAAAASUVORK5CYII="
)


def _union(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _int_choice_pattern(allowed: Sequence[int]) -> str:
    """The string forms of a set of positive ints: optional sign ``+``, leading zeros, whitespace."""
    values = "|".join(str(v) for v in sorted(allowed, reverse=True))
    return rf"^(?:{WS}\+?0*(?:{values}){WS})?$"


def lenient_int(
    allowed: Sequence[int] | None = None, *, minimum: int = 0, maximum: int = 0
) -> dict[str, Any]:
    """An int field: a JSON integer, its string form, ``""`` or ``null`` (not given)."""
    if allowed is not None:
        number: dict[str, Any] = {"type": "integer", "enum": sorted(allowed)}
        text: dict[str, Any] = {"type": "string", "pattern": _int_choice_pattern(allowed)}
    else:
        number = {"type": "integer", "minimum": minimum, "maximum": maximum}
        text = {"type": "string", "pattern": rf"^(?:{INT_STRING[1:-1]})?$"}
    return {"anyOf": [number, text, {"type": "null"}]}


def lenient_bool() -> dict[str, Any]:
    """A bool field: a JSON boolean, ``"true"``/``"false"`` in any case, ``""`` or ``null``."""
    text = {"type": "string", "pattern": rf"^(?:{BOOL_STRING[1:-1]})?$"}
    return {"anyOf": [{"type": "boolean"}, text, {"type": "null"}]}


def choice(allowed: Sequence[str]) -> dict[str, Any]:
    """One of ``allowed``, or ``""``/``null`` (not given: the default applies)."""
    return {"type": ["string", "null"], "enum": [*allowed, "", None]}


def text(*, max_length: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"]}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


# --- per-model descriptions, read from the catalogue ---------------------------------------------


def _per_model(options: Sequence[ModelOptions], describe: Callable[[ModelOptions], str]) -> str:
    return " · ".join(f"{o.model}: {describe(o)}" for o in options)


def _durations(o: ModelOptions) -> str:
    values = sorted(o.durations)
    shown = f"{values[0]} to {values[-1]}" if len(values) > 3 else ", ".join(map(str, values))
    return f"{shown} (default {o.default_duration})"


def _resolutions(o: ModelOptions) -> str:
    groups: dict[tuple[str, ...], list[int]] = {}
    for duration, option in o.durations.items():
        groups.setdefault((*option.resolutions, f"default {option.default_resolution}"), []).append(duration)
    if len(groups) == 1:
        return " ".join(next(iter(groups)))
    return "; ".join(f"{', '.join(map(str, ds))} s: {' '.join(rs)}" for rs, ds in groups.items())


def _ratios(o: ModelOptions) -> str:
    auto = " auto (the first image's ratio; needs an image)" if o.allows_auto_ratio else ""
    return f"{' '.join(o.aspect_ratios)}{auto}, default {o.aspect_ratios[0]}"


# --- fields -----------------------------------------------------------------------------------------

FieldSpec = tuple[Any, Any]  # (annotation, default) as create_model takes them


def _field(schema: dict[str, Any], description: str, *, required: bool = False) -> FieldSpec:
    annotation = Annotated[Any, WithJsonSchema({**schema, "description": description})]
    return (annotation, ... if required else None)


def _base_fields(options: Sequence[ModelOptions]) -> dict[str, FieldSpec]:
    """The fields of every create body."""
    kind = options[0].kind
    resolutions = _union(r for o in options for d in o.durations.values() for r in d.resolutions)
    required = any(o.prompt_required for o in options)
    most = max(o.prompt_max for o in options)
    if kind is TaskKind.VIDEO:
        most = max(most, SUBJECTS_PROMPT_MAX)
    prompt: dict[str, Any] = (
        {"type": "string", "minLength": 1, "maxLength": most}
        if required
        else {"type": ["string", "null"], "maxLength": most}
    )
    limits = _per_model(options, lambda o: f"{o.prompt_max} characters")
    if kind is TaskKind.VIDEO:
        limits += f" (subjects form: {SUBJECTS_PROMPT_MAX} for every model)"
    return {
        "model": _field(
            {"type": "string", "enum": [o.model for o in options]},
            f"The model ({kind.value}); a known model this deployment does not serve is ModelUnavailable.",
            required=True,
        ),
        "prompt": _field(
            prompt,
            ("What to make; not blank. " if required else 'Optional ("" allowed). ') + "At most " + limits,
            required=required,
        ),
        "resolution": _field(choice(resolutions), "Resolution: " + _per_model(options, _resolutions)),
        "seed": _field(
            lenient_int(minimum=0, maximum=SEED_MAX),
            f"0 to {SEED_MAX}; omitted or 0: a random seed (the seed used is echoed).",
        ),
        "payload": _field(text(max_length=PAYLOAD_MAX), "Any string, stored and echoed untouched."),
        "callback_url": _field(
            text(), "http(s) URL to POST the Get Generation body to when the task changes state."
        ),
        "meta_data": _field(text(), "Any string, stored."),
    }


_IMAGE_RULES = (
    "http(s) URLs or data URLs `data:image/<type>;base64,<data>` (PNG, JPEG or WebP, at least 128×128 px, "
    "ratio 1:4 to 4:1)"
)


def _images_field(options: Sequence[ModelOptions]) -> dict[str, FieldSpec]:
    kind = options[0].kind
    min_images = min(o.min_images for o in options)
    required = min_images > 0 and kind is not TaskKind.VIDEO  # reference2video: or `subjects`
    images: dict[str, Any] = {
        "type": "array" if required else ["array", "null"],
        "items": {"type": "string", "minLength": 1},
        "minItems": min_images,
        "maxItems": max(o.max_images for o in options),
    }
    what = {
        TaskKind.IMAGE_TO_VIDEO: "The first frame",
        TaskKind.START_END_TO_VIDEO: "The start frame, then the end frame (ratios within 0.8 to 1.25 of "
        "each other)",
    }.get(kind, "Reference images")
    alternative = " Required unless `subjects` is sent (not both)." if kind is TaskKind.VIDEO else ""
    return {
        "images": _field(
            images,
            f"{what}: {_IMAGE_RULES}.{alternative} Count: "
            + _per_model(options, lambda o: f"{o.min_images} to {o.max_images}"),
            required=required,
        )
    }


def _ratio_field(options: Sequence[ModelOptions]) -> dict[str, FieldSpec]:
    auto = ("auto",) if any(o.allows_auto_ratio for o in options) else ()
    ratios = _union([*(r for o in options for r in o.aspect_ratios), *auto])
    return {"aspect_ratio": _field(choice(ratios), "Aspect ratio: " + _per_model(options, _ratios))}


def _video_fields(options: Sequence[ModelOptions]) -> dict[str, FieldSpec]:
    durations = sorted({d for o in options for d in o.durations})
    ignored = [o.model for o in options if o.amplitude_ignored]
    speaking = [o.model for o in options if o.audio]
    native = [o.model for o in options if o.native_audio]
    return {
        "duration": _field(lenient_int(durations), "Seconds: " + _per_model(options, _durations)),
        "movement_amplitude": _field(
            choice(AMPLITUDES), f"Default auto; {', '.join(ignored) or 'no model'} accepts and ignores it."
        ),
        "bgm": _field(
            lenient_bool(),
            "Add background music (default false)"
            + (f"; no effect on {', '.join(native)}." if native else "."),
        ),
        "audio": _field(
            lenient_bool(),
            "Generated speech (the prompt's quoted lines) over the background; "
            + (f"available on {', '.join(speaking)}" if speaking else "not available here")
            + (f"; default true on {', '.join(native)}, else false" if native else "; default false")
            + ". Refused with off_peak (except on the q3 models) and where this deployment's backend "
            "cannot speak (`speaks` in GET /ent/v2/models).",
        ),
        "voice_id": _field(
            text(max_length=VOICE_ID_MAX), 'The voice for `audio` ("": the server\'s choice).'
        ),
        "off_peak": _field(lenient_bool(), "Lower priority, half the credits (default false)."),
        "watermark": _field(lenient_bool(), "Also make a watermarked copy (default false)."),
        "wm_position": _field(
            lenient_int(WM_POSITIONS),
            f"1 top-left, 2 top-right, 3 bottom-right, 4 bottom-left (default {DEFAULT_WM_POSITION}).",
        ),
        "wm_url": _field(text(), "A watermark image: http(s) URL or data URL (same image rules)."),
    }


def _style_field(options: Sequence[ModelOptions]) -> dict[str, FieldSpec]:
    effective = [o.model for o in options if o.style_effective]
    return {
        "style": _field(
            choice(STYLES),
            f"{' or '.join(STYLES)} (default {STYLES[0]}); takes effect on {', '.join(effective)}.",
        )
    }


def _is_rec_field(options: Sequence[ModelOptions]) -> dict[str, FieldSpec]:
    return {
        "is_rec": _field(
            lenient_bool(),
            f"The server writes the prompt from the pictures and ignores `prompt`; {IS_REC_CREDITS} credit "
            "more (default false).",
        )
    }


def _subjects_field(options: Sequence[ModelOptions]) -> dict[str, FieldSpec]:
    subject = {
        "type": "object",
        "required": ["id", "images"],
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": SUBJECT_ID_MAX},
            "images": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "maxItems": SUBJECT_IMAGES_MAX,
            },
            "voice_id": text(max_length=VOICE_ID_MAX),
        },
    }
    return {
        "subjects": _field(
            {"type": ["array", "null"], "items": subject, "maxItems": SUBJECTS_MAX},
            f"The subjects form (instead of `images`): 1 to {SUBJECTS_MAX} subjects, each an `id` (1 to "
            f"{SUBJECT_ID_MAX} characters, no whitespace, no @, unique; `@id` in the prompt names it), "
            f"1 to {SUBJECT_IMAGES_MAX} `images` ({_IMAGE_RULES}) and an optional `voice_id`; at most "
            f"{SUBJECTS_MAX} images in all.",
        )
    }


BODY_FIELDS: dict[TaskKind, tuple[Callable[[Sequence[ModelOptions]], dict[str, FieldSpec]], ...]] = {
    TaskKind.VIDEO: (_base_fields, _images_field, _subjects_field, _ratio_field, _video_fields),
    TaskKind.IMAGE: (_base_fields, _images_field, _ratio_field),
    TaskKind.TEXT_TO_VIDEO: (_base_fields, _style_field, _ratio_field, _video_fields),
    TaskKind.IMAGE_TO_VIDEO: (_base_fields, _images_field, _video_fields, _is_rec_field),
    TaskKind.START_END_TO_VIDEO: (_base_fields, _images_field, _video_fields, _is_rec_field),
}
"""The field groups of each endpoint's body; the enums and limits come from the catalogue."""

EXAMPLES: dict[TaskKind, dict[str, Any]] = {
    TaskKind.VIDEO: {"model": "vidu2.0", "images": [EXAMPLE_IMAGE], "prompt": "a red balloon drifts"},
    TaskKind.IMAGE: {"model": "viduq2", "images": [EXAMPLE_IMAGE], "prompt": "a blue kite", "seed": 7},
    TaskKind.TEXT_TO_VIDEO: {"model": "viduq2", "prompt": "two friends by a lake", "duration": 5},
    TaskKind.IMAGE_TO_VIDEO: {"model": "viduq2-turbo", "images": [EXAMPLE_IMAGE], "prompt": "she waves"},
    TaskKind.START_END_TO_VIDEO: {
        "model": "viduq2-pro",
        "images": [EXAMPLE_IMAGE, EXAMPLE_IMAGE],
        "prompt": "the balloon rises",
    },
}


def _finisher(example: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """No ``default: null`` on optional fields (the real defaults depend on the model), one example."""

    def finish(schema: dict[str, Any]) -> None:
        for prop in schema.get("properties", {}).values():
            prop.pop("default", None)
        schema["examples"] = [example]

    return finish


def body_model(kind: TaskKind, catalogue: Catalogue = CATALOGUE) -> type[BaseModel]:
    """The create body of ``kind`` as a pydantic model (extra fields allowed, as the contract says)."""
    options = [catalogue[(kind, m)] for m in models_for(kind, catalogue)]
    fields: dict[str, Any] = {}
    for group in BODY_FIELDS[kind]:
        fields.update(group(options))
    # Reference2VideoBody, Img2VideoBody, StartEnd2VideoBody
    name = (
        "2".join("".join(w.capitalize() for w in part.split("-")) for part in kind.value.split("2")) + "Body"
    )
    config = ConfigDict(extra="allow", json_schema_extra=_finisher(EXAMPLES[kind]))
    model: type[BaseModel] = create_model(name, __config__=config, **fields)
    model.__doc__ = f"The body of POST /ent/v2/{kind.value}."
    return model


BODY_MODELS: dict[TaskKind, type[BaseModel]] = {kind: body_model(kind) for kind in BODY_FIELDS}
