"""The ``refgen`` command: ``main`` and the subcommands it is made of.

Subcommands by family: :mod:`.server` (serve, worker, keys, workers, backends), :mod:`.models`
(list, pull), :mod:`.callbacks`, :mod:`.render`, :mod:`.create` (video, text2video, img2video,
start-end, image) and :mod:`.tasks` (status, cancel, download). What the client commands share:
:mod:`.client_options`, :mod:`.video_options`, :mod:`.waiting`, :mod:`.saving`, :mod:`.progress`,
:mod:`.exit_codes`; how every command lists its subcommands and reports a failure: :mod:`.group`.
"""

from __future__ import annotations

import click

from refgen import __version__
from refgen.cli import callbacks, models, render, server, tasks
from refgen.cli.group import CommandGroup


@click.group(cls=CommandGroup, context_settings={"max_content_width": 120})
@click.version_option(__version__, prog_name="refgen")
def main() -> None:
    """refgen: self-hosted reference-to-video and reference-to-image with the Vidu API contract."""


for command in (
    server.serve,
    server.worker,
    server.keys,
    server.workers,
    server.backends,
    models.models,
    callbacks.callbacks,
    render.render,
    *tasks.COMMANDS,
):
    main.add_command(command)
