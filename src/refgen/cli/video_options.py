"""The options every video command shares (``refgen video``, ``text2video``, ``img2video``,
``start-end``) and how ``--subject`` values are read.

Each option maps to the create field of the same name; an option not given is not sent, so the
server's defaults for the model apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refgen.cli.client_options import image_inputs, option
from refgen.cli.exit_codes import EXIT_USAGE, fail
from refgen.client import Subject

VIDEO_FIELDS = (
    "duration",
    "resolution",
    "movement_amplitude",
    "bgm",
    "audio",
    "voice_id",
    "seed",
    "off_peak",
    "watermark",
    "wm_position",
    "wm_url",
    "payload",
    "callback_url",
    "meta_data",
)
"""The SDK keyword arguments :func:`video_options` adds, in order."""


def video_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--duration`` … ``--meta-data``: the options of every video endpoint."""
    decorators = (
        option("--duration", type=int, help="Seconds [default: the model's, e.g. viduq1: 5, vidu2.0: 4]."),
        option(
            "--resolution",
            help="360p, 540p, 720p, 1080p (or 2K), as the model allows [default: the model's].",
        ),
        option("--movement-amplitude", help="auto, small, medium or large [default: auto]."),
        option("--bgm/--no-bgm", default=None, help="Add background music [default: no]."),
        option(
            "--audio/--no-audio",
            default=None,
            help="Speak the prompt's quoted lines, where the model can [default: yes for viduq3-*, else no].",
        ),
        option("--voice-id", help="The voice to speak with (any id; the same id, the same voice)."),
        option("--seed", type=int, help="0–2147483647; 0 or none picks a random seed (printed)."),
        option(
            "--off-peak/--no-off-peak", default=None, help="Run when the queue is quiet, at half the credits."
        ),
        option("--watermark/--no-watermark", default=None, help="Also make a watermarked copy."),
        option(
            "--wm-position",
            type=int,
            help="Watermark corner: 1 top-left, 2 top-right, 3 bottom-right, 4 bottom-left.",
        ),
        option(
            "--wm-url", metavar="PATH|URL", help="Watermark picture (file or URL) [default: the server's]."
        ),
        option("--payload", help="Any string, stored with the task and echoed back."),
        option("--callback-url", help="URL the server POSTs signed state changes to."),
        option("--meta-data", help="A string stored with the task."),
    )
    for decorate in reversed(decorators):
        f = decorate(f)
    return f


def video_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The SDK keyword arguments of :func:`video_options`' values (``--wm-url`` read as a picture)."""
    fields = {name: options[name] for name in VIDEO_FIELDS}
    if fields["wm_url"]:
        fields["wm_url"] = image_inputs((fields["wm_url"],))[0]
    return fields


def parse_subject(value: str) -> Subject:
    """``ID=PICTURE[,PICTURE…][:VOICE]``: pictures are files or http(s) URLs; the voice is the text
    after the last ``:`` when it holds no ``/`` and no ``,`` (so ``https://host:8080/a.png`` is a URL)."""
    subject_id, sep, rest = value.partition("=")
    if not sep or not subject_id.strip() or not rest.strip():
        fail(f"--subject takes ID=PICTURE[,PICTURE…][:VOICE], not {value!r}", EXIT_USAGE)
    voice: str | None = None
    head, colon, tail = rest.rpartition(":")
    if colon and head and "/" not in tail and "," not in tail:
        rest, voice = head, tail
    pictures = tuple(p.strip() for p in rest.split(",") if p.strip())
    return Subject(subject_id.strip(), image_inputs(pictures), voice)
