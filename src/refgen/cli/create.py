"""The create commands, ``refgen video`` and ``refgen image``: create a task, wait for it, save it.

Each creates a task from reference pictures and a prompt, prints ``task … created`` on stderr,
waits for it with a progress display and saves (``-o``) or prints its result; ``--no-wait``
prints the task id (or, with ``--json``, the created task) and returns at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from refgen.cli.client_options import connection_options, image_inputs, json_option, make_client, option
from refgen.cli.exit_codes import reporting
from refgen.cli.waiting import wait_and_save, wait_options
from refgen.client import Client, CreatedTask


def create_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = connection_options(f)
    f = json_option(f)
    f = wait_options(f)
    return option(
        "-o",
        "--output",
        type=click.Path(dir_okay=True),
        help="Save the result here (a file, or a folder, or a path ending in '/', to keep the file's name). "
        "Without it, the result's URL is printed.",
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
    parts += [f"seed {task.seed}", f"{task.credits} credits"]
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
) -> None:
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
            wait_and_save(client, task_id, output=output, timeout=timeout, as_json=as_json)


@click.command(context_settings={"auto_envvar_prefix": "REFGEN_VIDEO"})
@option("--model", default="vidu2.0", show_default=True, help="viduq2, viduq1, vidu2.0 or vidu1.5.")
@option(
    "--image",
    "images",
    multiple=True,
    metavar="PATH|URL",
    help="A reference picture (PNG, JPEG or WebP file, or an http(s) URL); repeat for 1–7.",
)
@option("--prompt", help="What happens in the video (up to 1500 characters; viduq2: 2000).")
@option("--duration", type=int, help="Seconds [default: the model's, e.g. vidu2.0: 4, viduq2: 5].")
@option("--resolution", help="360p, 540p, 720p or 1080p, as the model allows [default: the model's].")
@option("--aspect-ratio", help="16:9, 9:16 or 1:1 (viduq2 also 4:3, 3:4) [default: 16:9].")
@option("--movement-amplitude", help="auto, small, medium or large [default: auto].")
@option("--bgm/--no-bgm", default=None, help="Add background music [default: no].")
@option("--seed", type=int, help="0–2147483647; 0 or none picks a random seed (printed).")
@option("--off-peak/--no-off-peak", default=None, help="Run when the queue is quiet, at half the credits.")
@option("--watermark/--no-watermark", default=None, help="Also make a watermarked copy.")
@option(
    "--wm-position",
    type=int,
    help="Watermark corner: 1 top-left, 2 top-right, 3 bottom-right, 4 bottom-left.",
)
@option("--wm-url", metavar="PATH|URL", help="Watermark picture (file or URL) [default: the server's].")
@option("--payload", help="Any string, stored with the task and echoed back.")
@option("--callback-url", help="URL the server POSTs signed state changes to.")
@option("--meta-data", help="A string stored with the task.")
@create_options
def video(
    model: str,
    images: tuple[str, ...],
    prompt: str | None,
    duration: int | None,
    resolution: str | None,
    aspect_ratio: str | None,
    movement_amplitude: str | None,
    bgm: bool | None,
    seed: int | None,
    off_peak: bool | None,
    watermark: bool | None,
    wm_position: int | None,
    wm_url: str | None,
    payload: str | None,
    callback_url: str | None,
    meta_data: str | None,
    output: str | None,
    as_json: bool,
    no_wait: bool,
    timeout: float,
    base_url: str | None,
    api_key: str | None,
) -> None:
    """Make a video from reference pictures and a prompt, wait for it, and save it with -o.

    \b
    refgen video --image cat.png --image dog.jpg --prompt "they play in the snow" -o snow.mp4
    """
    references = image_inputs(images)
    mark = image_inputs((wm_url,))[0] if wm_url else None

    def create(client: Client) -> CreatedTask:
        return client.reference2video(
            model=model,
            images=references,
            prompt=prompt or "",
            duration=duration,
            resolution=resolution,
            aspect_ratio=aspect_ratio,
            movement_amplitude=movement_amplitude,
            bgm=bgm,
            seed=seed,
            off_peak=off_peak,
            watermark=watermark,
            wm_position=wm_position,
            wm_url=mark,
            payload=payload,
            callback_url=callback_url,
            meta_data=meta_data,
        )

    run_create(
        create,
        base_url=base_url,
        api_key=api_key,
        output=output,
        as_json=as_json,
        no_wait=no_wait,
        timeout=timeout,
    )


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
    )
