"""Progress shown while the client commands wait or download: a live bar on a terminal, plain
lines otherwise (on stderr, so stdout stays clean for results)."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import click

from refgen.client import Generation


def _stderr_is_live() -> bool:
    from rich.console import Console

    console = Console(stderr=True)
    return console.is_terminal and not console.is_dumb_terminal


class WaitDisplay:
    """A live bar (state, percent, elapsed) on a terminal; plain lines when stderr is not one."""

    def __init__(self, task_id: str, *, live: bool | None = None) -> None:
        self.task_id = task_id
        self.live = _stderr_is_live() if live is None else live
        self.started = time.monotonic()
        self._last: tuple[str, int] | None = None
        self._progress: Any = None
        self._bar: Any = None

    def __enter__(self) -> WaitDisplay:
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._bar = self._progress.add_task(f"{self.task_id} created", total=100)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, generation: Generation) -> None:
        percent = generation.progress
        if generation.succeeded:
            percent = 100
        if self._progress is not None:
            self._progress.update(
                self._bar,
                description=f"{generation.id} {generation.state}",
                completed=percent or 0,
                total=100 if percent is not None else None,
            )
            return
        shown = (generation.state, (percent or 0) // 10)
        if shown == self._last:
            return
        self._last = shown
        elapsed = time.monotonic() - self.started
        progress = f" {percent}%" if percent is not None else ""
        click.echo(f"task {generation.id}: {generation.state}{progress} ({elapsed:.1f} s)", err=True)


class DownloadDisplay:
    """A byte counter on a terminal; silence otherwise."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.live = _stderr_is_live()
        self._progress: Any = None
        self._bar: Any = None

    def __enter__(self) -> DownloadDisplay:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
            )
            self._progress.start()
            self._bar = self._progress.add_task(f"saving {self.name}", total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, received: int, total: int | None) -> None:
        if self._progress is not None:
            self._progress.update(self._bar, completed=received, total=total)


# -- what the commands share ------------------------------------------------------------------------


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def plural(count: int, word: str) -> str:
    """``1 credit``, ``2 credits``, ``0 credits``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
