"""The create commands, ``refgen video``, ``text2video``, ``img2video``, ``start-end`` and
``refgen image``: create a task, wait for it, save it.

Each creates a task from its pictures and a prompt, prints ``task … created`` on stderr,
waits for it with a progress display and saves (``-o``) or prints its result; ``--no-wait``
prints the task id (or, with ``--json``, the created task) and returns at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from refgen.cli.client_options import connection_options, image_inputs, json_option, make_client, option
from refgen.cli.exit_codes import EXIT_USAGE, fail, reporting
from refgen.cli.progress import plural
from refgen.cli.saving import check_output, force_option
from refgen.cli.video_options import parse_subject, video_fields, video_options
from refgen.cli.waiting import wait_and_save, wait_options
from refgen.client import Client, CreatedTask


def create_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = connection_options(f)
    f = json_option(f)
    f = wait_options(f)
    f = force_option(f)
    return option(
        "-o",
        "--output",
        type=click.Path(dir_okay=True),
        help="Save the result here: a file, or a folder (or a path ending in '/') to save it there as "
        "<task id>.<ext>. An existing file is kept unless --force. Without -o, the result's URL is printed.",
    )(f)


def _short_images(body: dict[str, Any]) -> dict[str, Any]:
    """A created task for printing: data URLs in ``images`` shortened (the server echoes them whole)."""

    def short(url: Any) -> Any:
        if isinstance(url, str) and url.startswith("data:") and len(url) > 64:
            head = url.split(",", 1)[0]
            return f"{head},…({len(url)} characters)"
        return url

    images = body.get("images")
    if isinstance(images, list):
        body = {**body, "images": [short(i) for i in images]}
    return body


def _describe(task: CreatedTask) -> str:
    parts = [task.model]
    duration = getattr(task, "duration", 0)
    if duration:
        parts.append(f"{duration} s")
    parts += [task.resolution, getattr(task, "aspect_ratio", "")]
    parts += [f"seed {task.seed}", plural(task.credits, "credit")]
    return ", ".join(p for p in parts if p)


def run_create(
    create: Callable[[Client], CreatedTask],
    *,
    base_url: str | None,
    api_key: str | None,
    output: str | None,
    as_json: bool,
    no_wait: bool,
    timeout: float,
    force: bool,
) -> None:
    check_output(output, force=force)
    task_id = ""
    with reporting(as_json), make_client(base_url, api_key) as client:
        task = create(client)
        task_id = task.task_id
        if no_wait:
            if as_json:
                click.echo(json.dumps(_short_images(task.model_dump(mode="json")), indent=2))
            else:
                click.echo(task_id)
            return
        click.echo(f"task {task_id} created ({_describe(task)})", err=True)
        with reporting(as_json, task_id):
            wait_and_save(client, task_id, output=output, timeout=timeout, as_json=as_json, force=force)


def run_create_command(create: Callable[[Client], CreatedTask], options: dict[str, Any]) -> None:
    """``run_create`` with the values of ``create_options`` taken from a command's ``options``."""
    run_create(create, **{name: options[name] for name in RUN_OPTIONS})


RUN_OPTIONS = ("base_url", "api_key", "output", "as_json", "no_wait", "timeout", "force")


@click.command(context_settings={"auto_envvar_prefix": "REFGEN_VIDEO"})
@option("--model", default="vidu2.0", show_default=True, help="viduq2, viduq1, vidu2.0 or vidu1.5.")
@option(
    "--image",
    "images",
    multiple=True,
    metavar="PATH|URL",
    help="A reference picture (PNG, JPEG or WebP file, or an http(s) URL); repeat for 1–7.",
)
@option(
    "--subject",
    "subjects",
    multiple=True,
    metavar="ID=PATH|URL[,…][:VOICE]",
    help="Instead of --image: a subject the prompt names as @ID, with 1–3 pictures and an optional "
    "voice id; repeat for up to 7 subjects (7 pictures in all).",
)
@option("--prompt", help="What happens in the video (up to 1500 characters; viduq2 and subjects: 2000).")
@option("--aspect-ratio", help="16:9, 9:16 or 1:1 (viduq2 also 4:3, 3:4) [default: 16:9].")
@video_options
@create_options
def video(
    model: str, images: tuple[str, ...], subjects: tuple[str, ...], prompt: str | None, **options: Any
) -> None:
    """Make a video from reference pictures (or subjects) and a prompt, wait for it, and save it with -o.

    \b
    refgen video --image cat.png --image dog.jpg --prompt "they play in the snow" -o snow.mp4
    refgen video --subject cat=cat.png --subject dog=dog1.jpg,dog2.jpg:deep --audio \\
        --model viduq2 --prompt '@cat asks @dog "shall we?"' -o talk.mp4
    """
    if images and subjects:
        fail("use --image or --subject, not both", EXIT_USAGE)
    references = image_inputs(images) if images or not subjects else None
    groups = [parse_subject(value) for value in subjects] or None
    fields = {"aspect_ratio": options["aspect_ratio"], **video_fields(options)}

    def create(client: Client) -> CreatedTask:
        return client.reference2video(
            model=model, prompt=prompt or "", images=references, subjects=groups, **fields
        )

    run_create_command(create, options)


@click.command("text2video", context_settings={"auto_envvar_prefix": "REFGEN_TEXT2VIDEO"})
@option(
    "--model",
    default="viduq1",
    show_default=True,
    help="viduq3-pro, viduq3-turbo, viduq2, viduq1 or vidu1.5.",
)
@option("--prompt", required=True, help="What happens in the video (up to 2000 characters; viduq3-*: 5000).")
@option("--style", help="general or anime [default: general].")
@option("--aspect-ratio", help="16:9, 9:16 or 1:1 (viduq2, viduq3-* also 4:3, 3:4) [default: 16:9].")
@video_options
@create_options
def text2video(model: str, prompt: str, style: str | None, aspect_ratio: str | None, **options: Any) -> None:
    """Make a video from a prompt alone, wait for it, and save it with -o.

    \b
    refgen text2video --prompt "a lighthouse in a storm" --style anime -o storm.mp4
    """
    fields = video_fields(options)

    def create(client: Client) -> CreatedTask:
        return client.text2video(model=model, prompt=prompt, style=style, aspect_ratio=aspect_ratio, **fields)

    run_create_command(create, options)


def frames_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """What img2video and start-end add to the video options."""
    f = option(
        "--prompt", help="What happens in the video (up to 2000 characters; viduq3-*: 5000); optional."
    )(f)
    return option(
        "--is-rec/--no-is-rec",
        default=None,
        help="Let the server write the prompt from the pictures (1 credit more) [default: no].",
    )(f)


FRAMES_MODELS = (
    "viduq3-pro, viduq3-turbo, viduq2-pro, viduq2-pro-fast, viduq2-turbo, viduq1, viduq1-classic, "
)


@click.command("img2video", context_settings={"auto_envvar_prefix": "REFGEN_IMG2VIDEO"})
@option("--model", default="viduq1", show_default=True, help=FRAMES_MODELS + "vidu2.0 or vidu1.5.")
@option(
    "--image",
    required=True,
    metavar="PATH|URL",
    help="The first frame (PNG, JPEG or WebP file, or an http(s) URL); the video takes its aspect ratio.",
)
@frames_options
@video_options
@create_options
def img2video(model: str, image: str, prompt: str | None, is_rec: bool | None, **options: Any) -> None:
    """Make a video that starts from a picture, wait for it, and save it with -o.

    \b
    refgen img2video --image harbour.jpg --prompt "the boats rock gently" -o harbour.mp4
    """
    [first] = image_inputs((image,))
    fields = video_fields(options)

    def create(client: Client) -> CreatedTask:
        return client.img2video(model=model, image=first, prompt=prompt, is_rec=is_rec, **fields)

    run_create_command(create, options)


@click.command("start-end", context_settings={"auto_envvar_prefix": "REFGEN_START_END"})
@option("--model", default="viduq1", show_default=True, help=FRAMES_MODELS + "vidu2.0 or vidu1.5.")
@option("--start", required=True, metavar="PATH|URL", help="The first frame (file or http(s) URL).")
@option(
    "--end",
    required=True,
    metavar="PATH|URL",
    help="The last frame; its aspect ratio within 0.8–1.25 of the start's.",
)
@frames_options
@video_options
@create_options
def start_end(
    model: str, start: str, end: str, prompt: str | None, is_rec: bool | None, **options: Any
) -> None:
    """Make a video from a start picture to an end picture, wait for it, and save it with -o.

    \b
    refgen start-end --start dawn.png --end dusk.png --prompt "a day passes" -o day.mp4
    """
    first, last = image_inputs((start, end))
    fields = video_fields(options)

    def create(client: Client) -> CreatedTask:
        return client.start_end2video(
            model=model, start=first, end=last, prompt=prompt, is_rec=is_rec, **fields
        )

    run_create_command(create, options)


@click.command(context_settings={"auto_envvar_prefix": "REFGEN_IMAGE"})
@option("--model", default="viduq2", show_default=True, help="viduq2 (0–7 images) or viduq1 (1–7).")
@option(
    "--image",
    "images",
    multiple=True,
    metavar="PATH|URL",
    help="A reference picture (PNG, JPEG or WebP file, or an http(s) URL); repeat for up to 7.",
)
@option("--prompt", help="What the image shows (up to 2000 characters).")
@option(
    "--aspect-ratio", help="16:9, 9:16, 1:1, 3:4, 4:3 (viduq2 also 21:9, 2:3, 3:2) or auto [default: 16:9]."
)
@option("--resolution", help="1080p (viduq2 also 2K, 4K) [default: 1080p].")
@option("--seed", type=int, help="0–2147483647; 0 or none picks a random seed (printed).")
@option("--payload", help="Any string, stored with the task and echoed back.")
@option("--callback-url", help="URL the server POSTs signed state changes to.")
@create_options
def image(
    model: str,
    images: tuple[str, ...],
    prompt: str | None,
    aspect_ratio: str | None,
    resolution: str | None,
    seed: int | None,
    payload: str | None,
    callback_url: str | None,
    output: str | None,
    force: bool,
    as_json: bool,
    no_wait: bool,
    timeout: float,
    base_url: str | None,
    api_key: str | None,
) -> None:
    """Make an image from reference pictures (or, with viduq2, from the prompt alone).

    \b
    refgen image --image cat.png --prompt "the cat as a poster" -o poster.png
    """
    references = image_inputs(images)

    def create(client: Client) -> CreatedTask:
        return client.reference2image(
            model=model,
            images=references,
            prompt=prompt or "",
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            seed=seed,
            payload=payload,
            callback_url=callback_url,
        )

    run_create(
        create,
        base_url=base_url,
        api_key=api_key,
        output=output,
        as_json=as_json,
        no_wait=no_wait,
        timeout=timeout,
        force=force,
    )
