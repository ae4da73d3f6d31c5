"""``refgen callbacks``: what was sent to whom and how it went, and sending one again."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from refgen.cli.group import CommandGroup
from refgen.cli.server import _data_dir_option, _settings, open_existing_store
from refgen.store.base import CallbackAttempt, CallbackDelivery


@click.group(cls=CommandGroup)
def callbacks() -> None:
    """Inspect and redeliver signed callbacks."""


@callbacks.command("list")
@click.option("--task", "task_id", default=None, help="Only the callbacks of this task.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show the newest N.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_data_dir_option
def list_callbacks(task_id: str | None, limit: int, as_json: bool, data_dir: Path | None) -> None:
    """List callbacks, oldest first, each with its attempts."""
    deliveries = open_existing_store(_settings(data_dir=data_dir)).outbox.list_deliveries(task_id, limit)
    if as_json:
        click.echo(json.dumps([_as_json(d) for d in deliveries], indent=2))
        return
    if not deliveries:
        click.echo("no callbacks" + (f" for task {task_id}" if task_id else ""))
        return
    click.echo(f"{'ID':<32} {'TASK':<32} {'EVENT':<10} {'STATUS':<9} {'TRIES':>5}  NEXT TRY / URL")
    for d in deliveries:
        upcoming = _time(d.next_attempt_at) if d.next_attempt_at is not None else "-"
        click.echo(
            f"{d.id:<32} {d.task_id:<32} {d.state.value:<10} {d.status.value:<9} {d.attempts:>5}  "
            f"{upcoming}  {d.url}"
        )
        for attempt in d.history:
            click.echo(f"    #{attempt.number} {_time(attempt.at)}  {_outcome(attempt)}")


@callbacks.command("redeliver")
@click.argument("delivery_id")
@_data_dir_option
def redeliver(delivery_id: str, data_dir: Path | None) -> None:
    """Send the callback DELIVERY_ID again (a new round of tries), whatever its status.

    The running server picks it up within a second.
    """
    from datetime import UTC

    delivery = open_existing_store(_settings(data_dir=data_dir)).outbox.redeliver(
        delivery_id, datetime.now(UTC)
    )
    if delivery is None:
        raise click.ClickException(f"no callback {delivery_id!r}")
    click.echo(f"callback {delivery.id} ({delivery.state.value} of task {delivery.task_id}) queued again")


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _outcome(attempt: CallbackAttempt) -> str:
    return f"HTTP {attempt.status_code}" if attempt.status_code is not None else f"error: {attempt.error}"


def _as_json(d: CallbackDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "task_id": d.task_id,
        "state": d.state.value,
        "url": d.url,
        "status": d.status.value,
        "attempts": [
            {
                "number": a.number,
                "at": _time(a.at),
                "status_code": a.status_code,
                "error": a.error,
            }
            for a in d.history
        ],
        "next_attempt_at": None if d.next_attempt_at is None else _time(d.next_attempt_at),
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": _time(d.created_at),
        "delivered_at": None if d.delivered_at is None else _time(d.delivered_at),
    }
