"""``refgen models pull`` against a local hub server serving a tiny FLUX.2 klein pipeline built here:
download, checksums, resume, a corrupted file, a mirror folder, and loading the pulled preset."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from refgen.backends.presets import PRESETS
from refgen.backends.registry import build_backends, model_routes
from refgen.backends.weights_pull import MANIFEST, read_manifest
from refgen.cli import main
from refgen.domain import TaskKind
from refgen.testing.tiny_diffusers import FLUX_TINY_OPTIONS, save_tiny_flux2_klein
from tests.integration.models.hub_server import FakeHub, serve_hub

pytest.importorskip("huggingface_hub")
KLEIN = PRESETS["flux2-klein-4b"].sources[0]
TRANSFORMER = "transformer/diffusion_pytorch_model.safetensors"


@pytest.fixture(scope="module")
def tiny_klein(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("diffusers")
    return save_tiny_flux2_klein(tmp_path_factory.mktemp("hub") / "klein")


@pytest.fixture
def hub(tiny_klein: Path) -> Iterator[FakeHub]:
    fake = FakeHub()
    fake.add(KLEIN.repo, tiny_klein)
    with serve_hub(fake) as served:
        yield served


def pull(hub: FakeHub, models: Path, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["models", "pull", "flux2-klein-4b", "--to", str(models), "--endpoint", hub.url, "-q", *args]
    )


def test_models_pull_downloads_verifies_and_the_preset_loads(
    hub: FakeHub, tiny_klein: Path, tmp_path: Path
) -> None:
    result = pull(hub, tmp_path)
    assert result.exit_code == 0, result.output
    folder = tmp_path / KLEIN.folder
    assert result.stdout.strip().splitlines()[-1] == str(folder)
    listing = read_manifest(folder)
    assert listing is not None and listing[0] == hub.repos[KLEIN.repo].commit
    files = {f.path: f for f in listing[1]}
    assert set(files) == set(hub.repos[KLEIN.repo].files())
    assert files[TRANSFORMER].sha256 and files["model_index.json"].git_sha1
    for name in files:
        assert (folder / name).read_bytes() == (tiny_klein / name).read_bytes()

    shown = CliRunner().invoke(main, ["models", "list", "--json", "--to", str(tmp_path)])
    rows = {row["name"]: row for row in json.loads(shown.stdout)}
    assert rows["flux2-klein-4b"]["pulled"] and not rows["wan-vace-14b"]["pulled"]
    assert rows["flux2-klein-4b"]["endpoints"] == ["reference2image"]

    entry = {"preset": "flux2-klein-4b", "options": FLUX_TINY_OPTIONS}
    routes = model_routes({"viduq2": entry}, models_dir=tmp_path)
    backend = build_backends(routes)[(TaskKind.IMAGE, "viduq2")]
    try:
        assert type(backend.pipeline).__name__ == "Flux2KleinPipeline"  # type: ignore[attr-defined]
    finally:
        backend.close()


def test_models_pull_resumes_a_cut_download_from_where_it_stopped(tiny_klein: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(tiny_klein, repo)
    big = "transformer/extra.safetensors"  # > huggingface_hub's 10 MB write chunk, so a cut leaves a part
    (repo / big).write_bytes(bytes(range(256)) * (96 * 1024))
    fake = FakeHub(cut_once={big})
    fake.add(KLEIN.repo, repo)
    with serve_hub(fake):
        result = pull(fake, tmp_path / "models")
    assert result.exit_code == 0, result.output
    first, resumed = fake.gets(big)
    size = (repo / big).stat().st_size
    assert first is None and resumed is not None and 0 < int(resumed[6:-1]) <= size // 2
    assert (tmp_path / "models" / KLEIN.folder / big).read_bytes() == (repo / big).read_bytes()


def test_models_pull_again_downloads_only_what_is_missing(hub: FakeHub, tmp_path: Path) -> None:
    hub.missing.add(TRANSFORMER)
    first = pull(hub, tmp_path)
    assert first.exit_code != 0 and not (tmp_path / KLEIN.folder / MANIFEST).exists()
    hub.missing.clear()
    hub.requests.clear()
    again = pull(hub, tmp_path)
    assert again.exit_code == 0, again.output
    assert hub.gets(TRANSFORMER) == [None]
    assert hub.gets("model_index.json") == []  # finished in the first run: not fetched again


def test_models_pull_refuses_and_removes_a_file_with_a_wrong_checksum(hub: FakeHub, tmp_path: Path) -> None:
    hub.corrupt.add(TRANSFORMER)
    result = pull(hub, tmp_path)
    assert result.exit_code == 1
    assert "wrong checksum" in result.output and TRANSFORMER in result.output
    assert not (tmp_path / KLEIN.folder / TRANSFORMER).exists()
    assert not (tmp_path / KLEIN.folder / MANIFEST).exists()


def test_models_pull_dry_run_prints_the_size_and_downloads_nothing(hub: FakeHub, tmp_path: Path) -> None:
    result = pull(hub, tmp_path, "--dry-run")
    assert result.exit_code == 0, result.output
    size = sum(p.stat().st_size for p in hub.repos[KLEIN.repo].folder.rglob("*") if p.is_file())
    assert f"{size / 1e9:.2f} GB" in result.stdout and hub.repos[KLEIN.repo].commit in result.stdout
    assert not (tmp_path / KLEIN.folder).exists() and hub.gets("") == []


def test_models_pull_unknown_revision_fails_clearly(hub: FakeHub, tmp_path: Path) -> None:
    result = pull(hub, tmp_path, "--revision", "v9")
    assert result.exit_code == 1 and KLEIN.repo in result.output


def test_models_pull_from_a_folder_copies_and_verifies(hub: FakeHub, tmp_path: Path) -> None:
    assert pull(hub, tmp_path / "online").exit_code == 0
    offline = tmp_path / "offline"
    args = [
        "models",
        "pull",
        "flux2-klein-4b",
        "--to",
        str(offline),
        "-q",
        "--from",
        str(tmp_path / "online"),
    ]
    copied = CliRunner().invoke(main, args)
    assert copied.exit_code == 0, copied.output
    assert read_manifest(offline / KLEIN.folder) == read_manifest(tmp_path / "online" / KLEIN.folder)

    shutil.rmtree(offline)
    broken = tmp_path / "online" / KLEIN.folder / TRANSFORMER
    broken.write_bytes(broken.read_bytes()[:-1] + b"\0")
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and "wrong checksum" in refused.output
    assert not (offline / KLEIN.folder / TRANSFORMER).exists()


def test_models_pull_from_a_folder_without_manifest_says_what_it_needs(tmp_path: Path) -> None:
    args = ["models", "pull", "flux2-klein-4b", "--to", str(tmp_path / "m"), "--from", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and MANIFEST in result.output
