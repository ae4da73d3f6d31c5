"""Where ``-o`` saves a result, and never over a file that is there without ``--force``.

``-o FILE`` saves to that file. ``-o FOLDER`` (a folder, or a path ending in '/') names the file by
its task, so two downloads into one folder never collide: ``<task id>.mp4``, and for a task with
several creations ``<task id>-<index>.mp4``; a cover or the watermarked copy adds ``-cover`` or
``-watermarked``. The extension is the one of the file on the server.

An existing file is refused (exit 2) unless ``--force``: before a create command makes its task
when ``-o`` names a file, and again just before saving.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from refgen.cli.client_options import option
from refgen.cli.exit_codes import EXIT_USAGE, fail
from refgen.client import Generation
from refgen.client.base import CreationFile

SUFFIXES: dict[CreationFile, str] = {"url": "", "cover_url": "-cover", "watermarked_url": "-watermarked"}
"""What each file of a creation adds to the task id in a folder."""


def force_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return option("--force", is_flag=True, help="Replace a file that is already where -o saves.")(f)


def is_folder(output: str) -> bool:
    """Whether ``-o`` names a folder: an existing one, or a path ending in '/'."""
    return output.endswith(("/", os.sep)) or Path(output).expanduser().is_dir()


def refuse_existing(target: Path, *, force: bool) -> None:
    """Stop with one line when ``target`` is a file that is there and ``--force`` was not given."""
    if not force and target.exists():
        fail(f"{target} exists; use --force to replace it, or -o another path", EXIT_USAGE)


def check_output(output: str | None, *, force: bool) -> None:
    """Before anything is made: refuse ``-o FILE`` when that file is there (a folder is checked
    once the file name is known)."""
    if output is not None and not is_folder(output):
        refuse_existing(Path(output).expanduser(), force=force)


def save_target(output: str, generation: Generation, *, index: int, which: CreationFile, force: bool) -> Path:
    """The file ``-o output`` saves this creation to; refused when it is there without ``force``.

    A task that has not succeeded, or has no creation ``index``, keeps ``output`` as it is: the
    download then says why there is nothing to save, before writing anything.
    """
    target = Path(output).expanduser()
    if is_folder(output) and generation.succeeded and 0 <= index < len(generation.creations):
        target = target / task_file_name(generation, index=index, which=which)
    if not target.is_dir():
        refuse_existing(target, force=force)
    return target


def task_file_name(generation: Generation, *, index: int, which: CreationFile) -> str:
    """``<task id>[-<index>][-cover|-watermarked]<extension of the file on the server>``."""
    url = str(getattr(generation.creations[index], which, "") or "")
    extension = PurePosixPath(unquote(urlsplit(url).path)).suffix
    several = f"-{index}" if len(generation.creations) > 1 else ""
    return f"{generation.id}{several}{SUFFIXES[which]}{extension}"
