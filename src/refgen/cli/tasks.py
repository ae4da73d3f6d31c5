"""Client commands, on the SDK: ``video``, ``image``, ``status``, ``cancel``, ``download``.

They talk to a refgen server or the original Vidu API over HTTP and import nothing of the server.
Talk (progress, what was saved) goes to stderr; results (a path, a URL, a task id, ``--json``) go to
stdout. A failure is one line on stderr, ``error: <reason>: <message> (HTTP n) [trace_id …]``, and
the exit status says what kind of failure it was:

====  =====================================================================
0     done
1     anything else
2     usage: a bad option, an image file that does not exist
3     authentication: no key, unknown or revoked key (401), forbidden (403)
4     not found: no such task for this key (404)
5     invalid request: the server refused what was sent (400, 413)
6     the task failed (including cancelled)
7     timeout: ``--timeout`` passed before the task ended, or a request timed out
8     server error (5xx) or the server could not be reached
9     rate limited (429)
130   interrupted (Ctrl-C); the task keeps running on the server
====  =====================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Literal, NoReturn

import click

from refgen.cli.progress import DownloadDisplay, WaitDisplay, human_size
from refgen.client import (
    DEFAULT_BASE_URL,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    Client,
    CreatedTask,
    Generation,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    WaitTimeoutError,
)
from refgen.client.base import CreationFile

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_INVALID = 5
EXIT_TASK_FAILED = 6
EXIT_TIMEOUT = 7
EXIT_SERVER = 8
EXIT_RATE_LIMITED = 9
EXIT_INTERRUPTED = 130

EXIT_CODES: tuple[tuple[type[APIError], int], ...] = (
    (AuthenticationError, EXIT_AUTH),
    (NotFoundError, EXIT_NOT_FOUND),
    (InvalidRequestError, EXIT_INVALID),
    (TaskFailedError, EXIT_TASK_FAILED),
    (WaitTimeoutError, EXIT_TIMEOUT),
    (APITimeoutError, EXIT_TIMEOUT),
    (RateLimitError, EXIT_RATE_LIMITED),
    (ServerError, EXIT_SERVER),
    (APIConnectionError, EXIT_SERVER),
)

DEFAULT_TIMEOUT = 1800.0

option = partial(click.option, show_envvar=True)


def exit_code_for(error: APIError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return EXIT_FAILURE


def one_line(text: str) -> str:
    return " ".join(text.split())


def fail(message: str, exit_code: int) -> NoReturn:
    """Print ``error: <message>`` as one line on stderr and exit with ``exit_code``."""
    click.echo(f"error: {one_line(message)}", err=True)
    raise click.exceptions.Exit(exit_code)


@contextmanager
def reporting(as_json: bool, task_id: str = "") -> Iterator[None]:
    """Turn SDK errors into one line and an exit status (and, with ``--json``, an error object)."""
    try:
        yield
    except APIError as error:
        if as_json:
            generation = getattr(error, "generation", None)
            body: dict[str, Any] = {
                "error": {
                    "code": error.code,
                    "reason": error.reason,
                    "message": error.message,
                    "trace_id": error.trace_id,
                }
            }
            if isinstance(generation, Generation):
                body["task"] = generation.model_dump(mode="json")
            click.echo(json.dumps(body, indent=2))
        message = str(error)
        if type(error) is APIConnectionError:
            message += " (is the server running? see --base-url)"
        if isinstance(error, WaitTimeoutError):
            message += f"; it keeps running: refgen status {error.generation.id}"
        fail(message, exit_code_for(error))
    except FileNotFoundError as error:
        fail(f"file not found: {error.filename}", EXIT_USAGE)
    except OSError as error:
        fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "), EXIT_FAILURE)
    except KeyboardInterrupt:
        hint = f": task {task_id} keeps running (refgen cancel {task_id} stops it)" if task_id else ""
        fail(f"interrupted{hint}", EXIT_INTERRUPTED)


# -- options shared by the commands -----------------------------------------------------------------


def connection_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = option(
        "--api-key",
        envvar=["REFGEN_API_KEY", "VIDU_API_KEY"],
        help="API key, sent as 'Authorization: Token <key>'.",
    )(f)
    return option(
        "--base-url",
        envvar=["REFGEN_BASE_URL", "VIDU_API_HOST"],
        help=f"Server to talk to (a bare host means https, localhost http) [default: {DEFAULT_BASE_URL}].",
    )(f)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return option(
        "--json", "as_json", is_flag=True, envvar="REFGEN_JSON", help="Print JSON on stdout, for scripts."
    )(f)


def wait_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        envvar="REFGEN_TIMEOUT",
        help="Seconds to wait for the task to end before giving up (exit 7; the task keeps running).",
    )(f)
    return option("--no-wait", is_flag=True, help="Print the task id and return at once.")(f)


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


def image_inputs(values: tuple[str, ...]) -> list[str | Path]:
    """``--image`` values: URLs as they are, anything else a local file that must exist."""
    out: list[str | Path] = []
    for value in values:
        if value.lower().startswith(("http://", "https://", "data:")):
            out.append(value)
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            fail(f"image not found: {value}", EXIT_USAGE)
        out.append(path)
    return out


def make_client(base_url: str | None, api_key: str | None) -> Client:
    if not (api_key or "").strip():
        fail("no API key: use --api-key or set REFGEN_API_KEY (or VIDU_API_KEY)", EXIT_AUTH)
    return Client(api_key, base_url=base_url)


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
    parts += [task.resolution, task.aspect_ratio, f"seed {task.seed}", f"{task.credits} credits"]
    return ", ".join(p for p in parts if p)


def wait_and_save(
    client: Client,
    task_id: str,
    *,
    output: str | None,
    timeout: float,
    as_json: bool,
    which: CreationFile = "url",
    index: int = 0,
) -> None:
    """Wait for the task with a progress display, save or print its result."""
    with WaitDisplay(task_id) as display:
        generation = client.wait(task_id, timeout=timeout, on_progress=display)
    saved: Path | None = None
    if output is not None:
        with DownloadDisplay(Path(output).name or output) as bytes_display:
            saved = client.download(generation, output, index=index, which=which, on_progress=bytes_display)
    if as_json:
        body = generation.model_dump(mode="json")
        if saved is not None:
            body["output"] = str(saved)
        click.echo(json.dumps(body, indent=2))
        return
    if saved is not None:
        click.echo(f"saved {saved} ({human_size(saved.stat().st_size)})", err=True)
        click.echo(str(saved))
        return
    for creation in generation.creations:
        click.echo(getattr(creation, which, "") or creation.url)


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


# -- the commands -----------------------------------------------------------------------------------


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


@click.command(context_settings={"auto_envvar_prefix": "REFGEN_STATUS"})
@click.argument("task_id")
@json_option
@connection_options
def status(task_id: str, as_json: bool, base_url: str | None, api_key: str | None) -> None:
    """Show a task's state, progress and (once done) its files."""
    with reporting(as_json), make_client(base_url, api_key) as client:
        generation = client.get(task_id)
    if as_json:
        click.echo(json.dumps(generation.model_dump(mode="json"), indent=2))
        return
    progress = f" {generation.progress}%" if generation.progress is not None else ""
    line = f"{generation.id}: {generation.state}{progress}"
    if generation.err_code:
        line += f" ({generation.err_code})"
    click.echo(f"{line}, {generation.credits} credits")
    for creation in generation.creations:
        click.echo(f"  url: {creation.url}")
        click.echo(f"  cover_url: {creation.cover_url}")
        if creation.watermarked_url:
            click.echo(f"  watermarked_url: {creation.watermarked_url}")


@click.command(context_settings={"auto_envvar_prefix": "REFGEN_CANCEL"})
@click.argument("task_id")
@json_option
@connection_options
def cancel(task_id: str, as_json: bool, base_url: str | None, api_key: str | None) -> None:
    """Cancel a task that has not ended (it ends failed, UserCancelled, with no credits charged)."""
    with reporting(as_json), make_client(base_url, api_key) as client:
        client.cancel(task_id)
    if as_json:
        click.echo(json.dumps({"id": task_id, "cancelled": True}))
    else:
        click.echo(f"cancelled {task_id}")


WHICH: dict[str, Literal["url", "cover_url", "watermarked_url"]] = {
    "media": "url",
    "cover": "cover_url",
    "watermarked": "watermarked_url",
}


@click.command(context_settings={"auto_envvar_prefix": "REFGEN_DOWNLOAD"})
@click.argument("task_id")
@option(
    "-o",
    "--output",
    type=click.Path(dir_okay=True),
    default=".",
    show_default=True,
    help="File to save to, or a folder (or a path ending in '/') to keep the file's name.",
)
@option(
    "--file",
    "which",
    type=click.Choice(sorted(WHICH)),
    default="media",
    show_default=True,
    help="The video or image itself, its cover JPEG, or the watermarked copy.",
)
@option("--index", type=click.IntRange(min=0), default=0, show_default=True, help="Which creation.")
@json_option
@wait_options
@connection_options
def download(
    task_id: str,
    output: str,
    which: str,
    index: int,
    as_json: bool,
    no_wait: bool,
    timeout: float,
    base_url: str | None,
    api_key: str | None,
) -> None:
    """Save a task's result; waits for the task to end first (unless --no-wait)."""
    with reporting(as_json, task_id), make_client(base_url, api_key) as client:
        if no_wait:
            with DownloadDisplay(Path(output).name or output) as bytes_display:
                saved = client.download(
                    task_id, output, index=index, which=WHICH[which], on_progress=bytes_display
                )
            click.echo(json.dumps({"id": task_id, "output": str(saved)}) if as_json else str(saved))
            return
        wait_and_save(
            client, task_id, output=output, timeout=timeout, as_json=as_json, which=WHICH[which], index=index
        )


COMMANDS = (video, image, status, cancel, download)
