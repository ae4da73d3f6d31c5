"""The create requests' bodies: the options each video endpoint takes, and the JSON they become.

``Client`` and ``AsyncClient`` take these options as keyword arguments (typed by the ``TypedDict``
classes here) and build their bodies with :func:`create_body`, which reads local files, so the
asynchronous client runs it in a worker thread. Options left out (or ``None``) are not sent, so the
server's defaults for the model apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from refgen.client.images import ImageInput, encode_image, encode_images


@dataclass(frozen=True)
class Subject:
    """One subject of reference2video's subjects form: an id the prompt names as ``@id``, its 1–3
    pictures (URLs, paths, bytes or PIL images) and, optionally, the voice it speaks with."""

    id: str
    images: Iterable[ImageInput]
    voice_id: str | None = None


class CommonOptions(TypedDict, total=False):
    """What every create endpoint takes beside its model, prompt and pictures."""

    seed: int | None
    """0–2147483647; 0 or absent: the server draws one (and echoes it)."""
    payload: str | None
    callback_url: str | None
    extra_body: Mapping[str, Any] | None
    """Fields this SDK does not know, added to the body as they are."""
    idempotency_key: str | None
    """Sent as the ``Idempotency-Key`` header, not in the body; default: a fresh UUID per call."""


class VideoOptions(CommonOptions, total=False):
    """What every video endpoint takes."""

    duration: int | None
    resolution: str | None
    movement_amplitude: str | None
    bgm: bool | None
    audio: bool | None
    """Generated speech (the prompt's quoted lines); not every model and endpoint can speak."""
    voice_id: str | None
    off_peak: bool | None
    watermark: bool | None
    wm_position: int | None
    wm_url: ImageInput | None
    meta_data: str | None


class ReferenceVideoOptions(VideoOptions, total=False):
    """``reference2video``'s options (both forms)."""

    aspect_ratio: str | None


class TextVideoOptions(VideoOptions, total=False):
    """``text2video``'s options."""

    style: str | None
    """``general`` (default) or ``anime``."""
    aspect_ratio: str | None


class FramesVideoOptions(VideoOptions, total=False):
    """``img2video``'s and ``start_end2video``'s options."""

    is_rec: bool | None
    """The server writes the prompt from the pictures (and ignores ``prompt``); costs 1 credit more."""


def reference_fields(
    images: Iterable[ImageInput] | None, subjects: Iterable[Subject] | None
) -> dict[str, Any]:
    """reference2video's pictures: ``images`` (the plain form) or ``subjects``, never both."""
    if images is not None and subjects is not None:
        raise ValueError("pass either images (the plain form) or subjects (the subjects form), not both")
    return {"images": images} if subjects is None else {"subjects": list(subjects)}


def _subject(subject: Subject) -> dict[str, Any]:
    body: dict[str, Any] = {"id": subject.id, "images": encode_images(subject.images)}
    if subject.voice_id is not None:
        body["voice_id"] = subject.voice_id
    return body


def create_body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body: pictures encoded (``images``, ``subjects``, ``wm_url``), ``None`` left out,
    ``extra_body`` merged last (``idempotency_key`` is a header, not part of it)."""
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None or name in ("extra_body", "idempotency_key"):
            continue
        if name == "images":
            value = encode_images(value)
        elif name == "subjects":
            value = [_subject(s) for s in value]
        elif name == "wm_url":
            value = encode_image(value)
        body[name] = value
    body.update(fields.get("extra_body") or {})
    return body
