"""``refgen models list`` and ``refgen models pull``: the presets, and their weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from refgen.backends.presets import PRESETS, Preset, UnknownPreset, get_preset
from refgen.backends.registry import preset_endpoints
from refgen.backends.weights_pull import (
    Pulled,
    PullError,
    hub_listing,
    pull_from_folder,
    pull_from_hub,
    read_manifest,
    sources_of,
)
from refgen.cli.group import CommandGroup
from refgen.settings import Settings


def _models_dir(to: Path | None) -> Path:
    if to is not None:
        return to
    try:
        return Settings().resolved_models_dir
    except ValueError as exc:
        raise click.UsageError(f"invalid settings: {exc}") from None


def _pulled(preset: Preset, models_dir: Path) -> bool:
    return all(read_manifest(models_dir / s.folder) is not None for s in preset.sources)


def preset_row(preset: Preset, models_dir: Path) -> dict[str, Any]:
    return {
        "name": preset.name,
        "backend": preset.backend,
        "summary": preset.summary,
        "endpoints": preset_endpoints(preset),
        "disk_gb": preset.disk_gb,
        "gpu_gb": preset.gpu_gb,
        "gpu_note": preset.gpu_note,
        "licence": preset.licence,
        "gated": preset.gated,
        "repos": [f"{s.repo}@{s.revision}" for s in preset.sources],
        "weights": str(preset.weights(models_dir)),
        "options": preset.resolved_options(models_dir),
        "pulled": _pulled(preset, models_dir),
    }


@click.group(cls=CommandGroup)
def models() -> None:
    """Model presets: list them and pull their weights.

    See docs/gpu-backends.md for what each preset serves and needs."""


_MODELS_DIR = click.option(
    "--to",
    "to",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="REFGEN_MODELS_DIR",
    show_envvar=True,
    help="Models folder [default: <data dir>/models].",
)


@models.command("list")
@_MODELS_DIR
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
def list_models(to: Path | None, as_json: bool) -> None:
    """The presets: backend, endpoints, download size, GPU memory, licence, and whether pulled here."""
    models_dir = _models_dir(to)
    rows = [preset_row(p, models_dir) for p in PRESETS.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    header = ("preset", "backend", "disk GB", "GPU GB", "licence", "pulled", "endpoints")
    cells = [
        (
            r["name"],
            r["backend"],
            f"{r['disk_gb']:.0f}",
            f"{r['gpu_gb']:.0f}",
            r["licence"] + (" (gated)" if r["gated"] else ""),
            "yes" if r["pulled"] else "no",
            ", ".join(r["endpoints"]),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    for line in (header, *cells):
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
    click.echo(f"\nmodels folder: {models_dir}  (GPU GB: estimated peak at the default size, bf16)")
    for r in rows:
        click.echo(f"  {r['name']}: {r['summary']}; GPU: {r['gpu_note']}")


@models.command()
@click.argument("name")
@_MODELS_DIR
@click.option("--revision", help="Branch, tag or commit of the preset's pipeline repository [default: main].")
@click.option(
    "--from",
    "from_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Copy from a folder pulled elsewhere (a models folder or one preset's) instead of a hub.",
)
@click.option(
    "--endpoint",
    envvar="HF_ENDPOINT",
    show_envvar=True,
    help="Hub URL, for a mirror [default: https://huggingface.co].",
)
@click.option("--dry-run", is_flag=True, help="Show what would be downloaded and its size, download nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def pull(
    name: str,
    to: Path | None,
    revision: str | None,
    from_dir: Path | None,
    endpoint: str | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Download the weights of preset NAME, resumably, verifying every file's checksum.

    Gated repositories need a token in HF_TOKEN. The last line printed is the weights folder.
    """
    try:
        preset = get_preset(name)
    except UnknownPreset as exc:
        raise click.UsageError(str(exc)) from None
    models_dir = _models_dir(to)
    try:
        if dry_run:
            _dry_run(preset, revision, endpoint)
            return
        for source in sources_of(preset, revision):
            done = _pull_one(source, models_dir, from_dir, endpoint, quiet)
            click.echo(
                f"{source.repo}@{done.commit[:12]}: {len(done.files)} files, "
                f"{done.size / 1e9:.2f} GB, checksums verified -> {done.folder}",
                err=True,
            )
    except PullError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f'model map: {{"<public model>": "{preset.name}"}}  (REFGEN_MODELS_DIR={models_dir})', err=True
    )
    click.echo(str(preset.weights(models_dir)))


def _pull_one(
    source: Any, models_dir: Path, from_dir: Path | None, endpoint: str | None, quiet: bool
) -> Pulled:
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]  # comes with huggingface_hub
    except ImportError:
        quiet, tqdm = True, None
    what = "copying" if from_dir is not None else "verifying"
    bar = tqdm(desc=f"{what} {source.folder}", unit="B", unit_scale=True, file=sys.stderr) if tqdm else None
    try:
        update = bar.update if bar is not None and not quiet else None
        if from_dir is not None:
            return pull_from_folder(source, models_dir, from_dir, progress=update)
        return pull_from_hub(source, models_dir, endpoint=endpoint, progress_bars=not quiet, verifying=update)
    finally:
        if bar is not None:
            bar.close()


def _dry_run(preset: Preset, revision: str | None, endpoint: str | None) -> None:
    total = 0
    for source in sources_of(preset, revision):
        commit, files = hub_listing(source, endpoint=endpoint)
        size = sum(f.size for f in files)
        total += size
        click.echo(f"{source.repo}@{commit}: {len(files)} files, {size / 1e9:.2f} GB -> {source.folder}/")
    click.echo(f"total: {total / 1e9:.2f} GB")
