"""Server-side commands: ``serve``, ``keys``, ``backends``."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from refgen import __version__
from refgen.errors import RefgenError
from refgen.settings import Settings


def _settings(**overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**values)
    except ValueError as exc:
        raise click.UsageError(f"invalid settings: {exc}") from None


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin


def _refuse_single_machine(settings: Settings, *, api: bool, what: str) -> None:
    from refgen.resources import scale_out_problems

    problems = scale_out_problems(settings, api=api)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise click.UsageError(
            f"`refgen {what}` is for the scaled-out shape, and this configuration cannot work across "
            f"machines:\n{lines}\n"
            "On one machine, run `refgen serve --workers N` instead (see docs/deployment.md)."
        )


def _data_dir_option(f: Any) -> Any:
    return click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        envvar="REFGEN_DATA_DIR",
        show_envvar=True,
        help="Folder for the database, files and secret [default: ./.refgen].",
    )(f)


@click.command()
@click.option(
    "--host",
    envvar="REFGEN_HOST",
    show_envvar=True,
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on.",
)
@click.option(
    "--port",
    envvar="REFGEN_PORT",
    show_envvar=True,
    default=8000,
    type=int,
    show_default=True,
    help="Port to listen on.",
)
@click.option(
    "--workers",
    envvar="REFGEN_WORKERS",
    show_envvar=True,
    default=1,
    type=click.IntRange(0, 64),
    show_default=True,
    help="Generation worker processes.",
)
@click.option("--no-worker", is_flag=True, help="Serve the API only; run generation with `refgen worker`.")
@_data_dir_option
def serve(host: str, port: int, workers: int, no_worker: bool, data_dir: Path | None) -> None:
    """Run the API server with generation workers (embedded: SQLite and files in the data folder)."""
    from refgen.http.app import create_app
    from refgen.keys import create_key
    from refgen.runtime import build_runtime
    from refgen.serving.server import run_server

    _configure_logging()
    settings = _settings(host=host, port=port, workers=0 if no_worker else workers, data_dir=data_dir)
    if no_worker:
        _refuse_single_machine(settings, api=True, what="serve --no-worker")
    try:
        runtime = build_runtime(settings)
        if not runtime.store.keys.list_keys():
            _, token = create_key(
                runtime.store.keys, runtime.cipher, "default", concurrency=settings.default_concurrency
            )
            click.echo("Created the first API key 'default'. It is shown only this once:", err=True)
            click.echo(f"\n    {token}\n", err=True)
            click.echo(
                f"Try:  curl -H 'Authorization: Token {token}' {settings.resolved_public_url}/ent/v2/models",
                err=True,
            )
    except RefgenError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"refgen {__version__} on {settings.resolved_public_url} (docs at /docs), "
        f"data in {settings.data_dir.resolve()}",
        err=True,
    )
    run_server(create_app(settings, runtime=runtime), settings)


@click.command()
@click.option(
    "--models",
    envvar="REFGEN_WORKER_MODELS",
    show_envvar=True,
    default=None,
    help="Comma-separated public models this worker serves [default: every model in the map].",
)
@_data_dir_option
def worker(models: str | None, data_dir: Path | None) -> None:
    """Run one generation worker in this process, for the scaled-out shape (PostgreSQL + S3).

    On SIGTERM or Ctrl-C it takes no new task and finishes the current one; after
    REFGEN_SHUTDOWN_GRACE_SECONDS (or a second signal) it stops generation and hands the task back.
    """
    import signal
    import threading

    from refgen.worker.assembly import UnservedModels, assemble_worker

    _configure_logging()
    settings = _settings(data_dir=data_dir)
    _refuse_single_machine(settings, api=False, what="worker")
    wanted = {m.strip() for m in models.split(",") if m.strip()} if models else None
    stop, wake = threading.Event(), threading.Event()
    try:
        assembled = assemble_worker(settings, wake, models=wanted)
    except UnservedModels as exc:
        raise click.UsageError(
            f"--models names models the model map does not serve: {', '.join(exc.models)}"
        ) from None
    except RefgenError as exc:
        raise click.ClickException(exc.message) from None
    runner = assembled.worker

    def on_signal(signum: int, frame: object) -> None:
        if stop.is_set():  # a second signal: do not wait for the task
            runner.hand_back()
            return
        stop.set()
        grace = settings.shutdown_grace_seconds
        click.echo(
            f"stopping: finishing the current task (up to {grace:.0f} s), then handing it back", err=True
        )
        timer = threading.Timer(grace, runner.hand_back)
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"worker {runner.worker_id} serving {', '.join(runner.models)}", err=True)
    assembled.run(stop)


@click.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--name", required=True, help="A unique name for the key.")
@click.option(
    "--credits", type=click.IntRange(min=0), default=None, help="Credit balance [default: unlimited]."
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=None, help="Tasks processed at once [default: 5]."
)
@_data_dir_option
def keys_create(name: str, credits: int | None, concurrency: int | None, data_dir: Path | None) -> None:
    """Create a key; its token is the last line printed (shown only once)."""
    from refgen.keys import create_key
    from refgen.resources import open_store
    from refgen.tokens import TokenCipher, load_or_create_secret

    settings = _settings(data_dir=data_dir)
    store = open_store(settings)
    cipher = TokenCipher(load_or_create_secret(settings.data_dir, settings.secret_key))
    try:
        key, token = create_key(
            store.keys, cipher, name, credits=credits, concurrency=concurrency or settings.default_concurrency
        )
    except RefgenError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"created key {key.name!r} (concurrency {key.concurrency}, credits "
        f"{'unlimited' if key.credits is None else key.credits}); its token, shown only once:"
    )
    click.echo(token)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_data_dir_option
def keys_list(as_json: bool, data_dir: Path | None) -> None:
    """List keys (never their tokens)."""
    from refgen.resources import open_store

    rows = [
        {
            "name": k.name,
            "concurrency": k.concurrency,
            "credits": k.credits,
            "created_at": k.created_at.isoformat(),
            "revoked": k.revoked_at is not None,
        }
        for k in open_store(_settings(data_dir=data_dir)).keys.list_keys()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'NAME':<24} {'CONCURRENCY':>11} {'CREDITS':>10}  {'CREATED':<20} STATUS")
    for r in rows:
        credits = "unlimited" if r["credits"] is None else str(r["credits"])
        status = "revoked" if r["revoked"] else "active"
        click.echo(
            f"{r['name']:<24} {r['concurrency']:>11} {credits:>10}  {str(r['created_at'])[:19]:<20} {status}"
        )


@keys.command("revoke")
@click.argument("name")
@_data_dir_option
def keys_revoke(name: str, data_dir: Path | None) -> None:
    """Revoke the key NAME; its tasks stay, its token stops working."""
    from datetime import UTC, datetime

    from refgen.resources import open_store

    if not open_store(_settings(data_dir=data_dir)).keys.revoke_key(name, datetime.now(UTC)):
        raise click.ClickException(f"no active key named {name!r}")
    click.echo(f"revoked key {name!r}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_data_dir_option
def workers(as_json: bool, data_dir: Path | None) -> None:
    """List registered worker processes: host, pid, models, last seen, alive or not."""
    from datetime import UTC, datetime

    from refgen.resources import open_store

    settings = _settings(data_dir=data_dir)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for w in open_store(settings).workers.list_workers():
        status = (
            "stopped" if w.stopped_at else ("alive" if w.alive(now, settings.lease_seconds) else "silent")
        )
        rows.append(
            {
                "id": w.id,
                "host": w.hostname,
                "pid": w.pid,
                "models": list(w.models),
                "status": status,
                "started_at": w.started_at.isoformat(),
                "last_seen_at": w.last_seen_at.isoformat(),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'WORKER':<20} {'HOST':<20} {'PID':>7}  {'STATUS':<8} {'LAST SEEN':<20} MODELS")
    for r in rows:
        click.echo(
            f"{r['id']:<20} {r['host'][:20]:<20} {r['pid']:>7}  {r['status']:<8} "
            f"{str(r['last_seen_at'])[:19]:<20} {','.join(r['models'])}"
        )


@click.command()
def backends() -> None:
    """List the configured model map and whether each backend loads here."""
    from refgen.backends.registry import build_backend, describe, model_routes

    settings = _settings()
    failed = False
    try:
        routes = model_routes(settings.model_map, models_dir=settings.resolved_models_dir)
    except RefgenError as exc:
        raise click.ClickException(exc.message) from None
    checked: dict[tuple[str, str | None, str], str] = {}  # a backend shared by routes loads once
    for key, route in sorted(routes.items(), key=lambda item: describe(item[0])):
        identity = route.identity
        if identity not in checked:
            try:
                backend = build_backend(route)
                backend.load()
                backend.close()
                checked[identity] = "ok"
            except Exception as exc:
                failed = True
                checked[identity] = f"FAILED: {exc}"
        weights = f" ({route.weights})" if route.weights else ""
        click.echo(f"{describe(key):<24} -> {route.backend}{weights}: {checked[identity]}")
    if failed:
        sys.exit(1)
