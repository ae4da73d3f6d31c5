"""Server-side commands: ``serve``, ``keys``, ``backends``."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from refgen import __version__
from refgen.cli.group import CommandGroup
from refgen.errors import RefgenError
from refgen.logs import configure_logging
from refgen.settings import Settings
from refgen.settings_errors import load_settings

if TYPE_CHECKING:
    from refgen.resources import ServerStore

if TYPE_CHECKING:
    from refgen.runtime import Runtime

log = logging.getLogger("refgen")


def _settings(**overrides: Any) -> Settings:
    """Settings from the environment and the flags given (a bad one stops the command: one line each)."""
    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def open_existing_store(settings: Settings) -> ServerStore:
    """The store of a database that exists: commands other than ``serve`` never create one."""
    from refgen.data_folder import missing_database
    from refgen.resources import open_store

    problem = missing_database(settings.resolved_database_url, configured=settings.database_url is not None)
    if problem is not None:
        raise click.ClickException(problem)
    return open_store(settings)


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
        help="Folder for the database, files and secret [default: $XDG_DATA_HOME/refgen, "
        "else ~/.local/share/refgen].",
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
    from refgen.runtime import build_runtime
    from refgen.serving.server import run_server

    settings = _settings(host=host, port=port, workers=0 if no_worker else workers, data_dir=data_dir)
    configure_logging(settings)
    if no_worker:
        _refuse_single_machine(settings, api=True, what="serve --no-worker")
    try:
        runtime = build_runtime(settings)
        if not runtime.store.keys.list_keys():
            _first_key(runtime, settings)
    except RefgenError as exc:
        raise click.ClickException(exc.message) from None
    log.info(
        "refgen %s on %s (docs at /docs), data in %s",
        __version__,
        settings.resolved_public_url,
        settings.data_dir.resolve(),
    )
    run_server(create_app(settings, runtime=runtime), settings)


FIRST_KEY_FILE = "first-key.txt"


def _first_key(runtime: Runtime, settings: Settings) -> None:
    """Create the key ``default`` and hand its token over once, never as a log record.

    On a terminal it is written straight to stderr. Otherwise stderr is a log (a service manager's
    journal, a container's log), so the token goes into ``<data dir>/first-key.txt``, readable by
    the owner only, and the log says where it is."""
    from refgen.keys import create_key

    _, token = create_key(
        runtime.store.keys, runtime.cipher, "default", concurrency=settings.default_concurrency
    )
    if sys.stderr.isatty():
        click.echo("Created the first API key 'default'. It is shown only this once:", err=True)
        click.echo(f"\n    {token}\n", err=True)
        click.echo(
            f"Try:  curl -H 'Authorization: Token {token}' {settings.resolved_public_url}/ent/v2/models",
            err=True,
        )
        return
    path = settings.data_dir / FIRST_KEY_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(token + "\n")
    log.warning(
        "created the first API key 'default'; its token is in %s (readable by you only): "
        "copy it, then delete the file",
        path.resolve(),
    )


@click.command()
@click.option(
    "--models",
    envvar="REFGEN_WORKER_MODELS",
    show_envvar=True,
    default=None,
    help="Comma-separated public models this worker serves [default: every model in the map].",
)
@click.option(
    "--metrics-port",
    envvar="REFGEN_WORKER_METRICS_PORT",
    show_envvar=True,
    default=None,
    type=click.IntRange(0, 65535),
    help="Serve this worker's /metrics on REFGEN_HOST at this port [default: not served].",
)
@_data_dir_option
def worker(models: str | None, metrics_port: int | None, data_dir: Path | None) -> None:
    """Run one generation worker in this process, for the scaled-out shape (PostgreSQL + S3).

    On SIGTERM or Ctrl-C it takes no new task and finishes the current one; after
    REFGEN_SHUTDOWN_GRACE_SECONDS (or a second signal) it stops generation and hands the task back.
    """
    import signal
    import threading

    from prometheus_client import CollectorRegistry

    from refgen.metrics.exposition import MetricsServer
    from refgen.metrics.families import TaskMetrics
    from refgen.worker.assembly import UnservedModels, assemble_worker

    settings = _settings(data_dir=data_dir, worker_metrics_port=metrics_port)
    configure_logging(settings)
    _refuse_single_machine(settings, api=False, what="worker")
    wanted = {m.strip() for m in models.split(",") if m.strip()} if models else None
    stop, wake = threading.Event(), threading.Event()
    registry = CollectorRegistry()
    try:
        assembled = assemble_worker(settings, wake, models=wanted, metrics=TaskMetrics(registry))
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
        log.info("stopping: finishing the current task (up to %.0f s), then handing it back", grace)
        timer = threading.Timer(grace, runner.hand_back)
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("worker %s serving %s", runner.worker_id, ", ".join(runner.models))
    server = None
    if settings.worker_metrics_port is not None:
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        server = MetricsServer(registry, settings.host, settings.worker_metrics_port, token)
        server.start()
        log.info("worker metrics on http://%s:%s/metrics", settings.host, server.port)
    try:
        assembled.run(stop)
    finally:
        if server is not None:
            server.stop()


@click.group(cls=CommandGroup)
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
    from refgen.tokens import TokenCipher, load_or_create_secret

    settings = _settings(data_dir=data_dir)
    store = open_existing_store(settings)
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
    rows = [
        {
            "name": k.name,
            "concurrency": k.concurrency,
            "credits": k.credits,
            "created_at": k.created_at.isoformat(),
            "revoked": k.revoked_at is not None,
        }
        for k in open_existing_store(_settings(data_dir=data_dir)).keys.list_keys()
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

    if not open_existing_store(_settings(data_dir=data_dir)).keys.revoke_key(name, datetime.now(UTC)):
        raise click.ClickException(f"no active key named {name!r}")
    click.echo(f"revoked key {name!r}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_data_dir_option
def workers(as_json: bool, data_dir: Path | None) -> None:
    """List registered worker processes: host, pid, models, last seen, alive or not."""
    from datetime import UTC, datetime

    settings = _settings(data_dir=data_dir)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for w in open_existing_store(settings).workers.list_workers():
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
