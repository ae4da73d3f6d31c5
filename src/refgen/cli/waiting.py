"""Waiting for a task to end: ``--timeout`` and ``--no-wait``, a progress display while it runs,
then its result saved (``-o``) or printed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from refgen.cli.client_options import option
from refgen.cli.progress import DownloadDisplay, WaitDisplay, human_size
from refgen.cli.saving import save_target
from refgen.client import Client
from refgen.client.base import CreationFile

DEFAULT_TIMEOUT = 1800.0


def _timeout_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        envvar="REFGEN_TIMEOUT",
        help="Seconds to wait for the task to end before giving up (exit 7; the task keeps running).",
    )(f)


def wait_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--timeout`` and ``--no-wait`` of the create commands."""
    return option("--no-wait", is_flag=True, help="Print the task id and return at once.")(_timeout_option(f))


def download_wait_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--timeout`` and ``--no-wait`` of ``download``: there, not waiting means saving at once."""
    return option(
        "--no-wait",
        is_flag=True,
        help="Save at once without waiting; a task that has not ended is an error (exit 5).",
    )(_timeout_option(f))


def wait_and_save(
    client: Client,
    task_id: str,
    *,
    output: str | None,
    timeout: float,
    as_json: bool,
    which: CreationFile = "url",
    index: int = 0,
    force: bool = False,
) -> None:
    """Wait for the task with a progress display, save or print its result."""
    with WaitDisplay(task_id) as display:
        generation = client.wait(task_id, timeout=timeout, on_progress=display)
    saved: Path | None = None
    if output is not None:
        target = save_target(output, generation, index=index, which=which, force=force)
        with DownloadDisplay(target.name) as bytes_display:
            saved = client.download(generation, target, index=index, which=which, on_progress=bytes_display)
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
