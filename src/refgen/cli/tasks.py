"""Client commands on a task that exists: ``status``, ``cancel``, ``download``; and ``COMMANDS``,
every client command on the SDK (with the create commands from :mod:`refgen.cli.create`).

They talk to a refgen server or the original Vidu API over HTTP and import nothing of the server.
Talk (progress, what was saved) goes to stderr; results (a path, a URL, a task id, ``--json``) go to
stdout. A failure is one line on stderr and an exit status by kind (:mod:`refgen.cli.exit_codes`).
The client commands' shared options live in :mod:`refgen.cli.client_options`, waiting for a task
in :mod:`refgen.cli.waiting`.
"""

from __future__ import annotations

import json
from typing import Literal

import click

from refgen.cli.client_options import connection_options, json_option, make_client, option
from refgen.cli.create import image, img2video, start_end, text2video, video
from refgen.cli.exit_codes import reporting
from refgen.cli.progress import DownloadDisplay, plural
from refgen.cli.saving import check_output, force_option, save_target
from refgen.cli.waiting import download_wait_options, wait_and_save

__all__ = [
    "COMMANDS",
    "WHICH",
    "cancel",
    "download",
    "image",
    "img2video",
    "start_end",
    "status",
    "text2video",
    "video",
]


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
    click.echo(f"{line}, {plural(generation.credits, 'credit')}")
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
    help="File to save to, or a folder (or a path ending in '/'): saved there as <task id>.<ext>.",
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
@force_option
@json_option
@download_wait_options
@connection_options
def download(
    task_id: str,
    output: str,
    which: str,
    index: int,
    force: bool,
    as_json: bool,
    no_wait: bool,
    timeout: float,
    base_url: str | None,
    api_key: str | None,
) -> None:
    """Save a task's result; waits for the task to end first (unless --no-wait)."""
    check_output(output, force=force)
    with reporting(as_json, task_id), make_client(base_url, api_key) as client:
        if no_wait:
            generation = client.get(task_id)
            target = save_target(output, generation, index=index, which=WHICH[which], force=force)
            with DownloadDisplay(target.name) as bytes_display:
                saved = client.download(
                    generation, target, index=index, which=WHICH[which], on_progress=bytes_display
                )
            click.echo(json.dumps({"id": task_id, "output": str(saved)}) if as_json else str(saved))
            return
        wait_and_save(
            client,
            task_id,
            output=output,
            timeout=timeout,
            as_json=as_json,
            which=WHICH[which],
            index=index,
            force=force,
        )


COMMANDS = (video, text2video, img2video, start_end, image, status, cancel, download)
