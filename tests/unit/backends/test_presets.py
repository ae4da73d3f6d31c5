"""Presets: their table, and the model map taking a preset name where it takes a backend entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from refgen.backends.presets import PRESETS, UnknownPreset, get_preset
from refgen.backends.registry import (
    BACKEND_KINDS,
    ModelMapError,
    build_backend,
    model_routes,
    preset_endpoints,
)
from refgen.backends.wan_vace import WanVaceBackend
from refgen.domain import TaskKind
from refgen.settings import Settings

MODELS = Path("/srv/models")


def test_presets_name_a_known_backend_a_licence_and_sizes() -> None:
    assert {"wan-vace-14b", "wan-vace-14b-fast", "wan-vace-1.3b", "flux2-klein-4b"} <= set(PRESETS)
    for preset in PRESETS.values():
        assert preset.backend in BACKEND_KINDS and BACKEND_KINDS[preset.backend].needs_weights
        assert preset.licence and preset.disk_gb > 0 and preset.gpu_gb > 0
        assert all("/" in source.repo and source.revision for source in preset.sources)
        assert preset_endpoints(preset)


def test_presets_memory_is_at_least_the_resident_weights() -> None:
    # bf16: the 14B transformer ~32 GB and UMT5-XXL 11.4 GB; the 1.3B never below UMT5 on the GPU
    assert PRESETS["wan-vace-14b"].gpu_gb >= 32 + 11.4
    assert PRESETS["wan-vace-1.3b"].gpu_gb >= 11.4
    assert PRESETS["flux2-klein-4b"].gpu_gb >= 7.8 + 8


def test_presets_fast_tier_shares_the_base_weights_and_adds_a_distillation_lora() -> None:
    base, fast = PRESETS["wan-vace-14b"], PRESETS["wan-vace-14b-fast"]
    assert fast.weights_folder == base.weights_folder
    options = fast.resolved_options(MODELS)
    assert options["lora"].startswith(f"{MODELS}/") and options["lora"].endswith(".safetensors")
    assert options["speed"] == "fast"
    tier = WanVaceBackend(str(MODELS / "wan"), options).options  # the backend's fast tier
    assert (tier["steps"], tier["guidance"], tier["compile"]) == (4, 1.0, "blocks")


def test_presets_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownPreset, match="wan-vace-14b"):
        get_preset("wan-vace-15b")


@pytest.mark.parametrize(
    "entry",
    ["flux2-klein-4b", {"preset": "flux2-klein-4b"}, {"backend": "flux2-klein-4b"}],
)
def test_model_map_takes_a_preset_name_where_it_takes_a_backend(entry: object) -> None:
    routes = model_routes({"viduq2": entry}, models_dir=MODELS)
    route = routes[(TaskKind.IMAGE, "viduq2")]
    assert (route.backend, route.preset) == ("flux2-klein", "flux2-klein-4b")
    assert route.weights == str(MODELS / "FLUX.2-klein-4B")


def test_model_map_preset_options_merge_under_the_entrys_own() -> None:
    entry = {"preset": "wan-vace-14b-fast", "weights": "/elsewhere/wan", "options": {"steps": 8}}
    route = model_routes({"viduq1": entry}, models_dir=MODELS)[(TaskKind.VIDEO, "viduq1")]
    assert route.weights == "/elsewhere/wan"
    assert route.options["steps"] == 8 and route.options["speed"] == "fast"
    assert str(route.options["lora"]).startswith(str(MODELS))


def test_model_map_preset_per_kind_entry() -> None:
    routes = model_routes(
        {"viduq1": {"reference2video": "wan-vace-1.3b", "reference2image": "flux2-klein-4b"}},
        models_dir=MODELS,
    )
    assert routes[(TaskKind.VIDEO, "viduq1")].preset == "wan-vace-1.3b"
    assert routes[(TaskKind.IMAGE, "viduq1")].preset == "flux2-klein-4b"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("wan-vace-99b", "unknown preset"),
        ({"backend": "nope"}, "presets: wan-vace-14b"),
        ({"preset": "wan-vace-14b", "backend": "wan-vace"}, "both a backend and a preset"),
        ({"preset": "flux2-klein-4b", "options": 3}, "'options'"),
    ],
)
def test_model_map_bad_preset_entries_are_refused(entry: object, message: str) -> None:
    with pytest.raises(ModelMapError, match=message):
        model_routes({"viduq2": entry}, models_dir=MODELS)


def test_model_map_preset_cannot_serve_a_model_of_another_kind() -> None:
    with pytest.raises(ModelMapError, match="cannot serve"):
        model_routes({"vidu2.0": "flux2-klein-4b"}, models_dir=MODELS)  # vidu2.0 makes no images


def test_model_map_preset_without_pulled_weights_says_how_to_pull(tmp_path: Path) -> None:
    route = model_routes({"viduq2": "flux2-klein-4b"}, models_dir=tmp_path)[(TaskKind.IMAGE, "viduq2")]
    with pytest.raises(ModelMapError, match="refgen models pull flux2-klein-4b"):
        build_backend(route)


def test_settings_read_a_preset_model_map_and_the_models_folder(tmp_path: Path) -> None:
    settings = Settings(model_map='{"viduq2": "flux2-klein-4b"}', data_dir=tmp_path)  # type: ignore[arg-type]
    assert settings.model_map == {"viduq2": "flux2-klein-4b"}
    assert settings.resolved_models_dir == tmp_path / "models"
    assert Settings(models_dir=tmp_path / "m").resolved_models_dir == tmp_path / "m"
