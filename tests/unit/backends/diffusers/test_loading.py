"""Loading a diffusers pipeline, the parts that need no torch: lazy imports, weights checks, registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from refgen.backends import diffusers_loading
from refgen.backends.registry import ModelMapError, model_routes
from refgen.domain import TaskKind
from refgen.errors import BackendUnavailable


def test_registry_knows_the_diffusers_backends_and_their_kinds() -> None:
    routes = model_routes(
        {
            "viduq1": {"backend": "wan-vace", "weights": "/w/wan"},
            "viduq2": {"backend": "flux2-klein", "weights": "/w/flux"},
        }
    )
    video_kinds = {kind for kind in TaskKind if kind.makes_video}
    # one VACE backend serves every video endpoint the model has in the catalogue
    assert set(routes) == {(kind, "viduq1") for kind in video_kinds} | {(TaskKind.IMAGE, "viduq2")}
    assert routes[(TaskKind.VIDEO, "viduq1")].kinds == video_kinds
    assert routes[(TaskKind.IMAGE, "viduq2")].kinds == {TaskKind.IMAGE}
    with pytest.raises(ModelMapError, match="needs 'weights'"):
        model_routes({"viduq1": {"backend": "wan-vace"}})


def test_backend_modules_import_without_torch() -> None:
    code = (
        "import sys\n"
        "import refgen.backends.wan_vace, refgen.backends.flux2_klein, refgen.backends.registry\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "diffusers", None)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'refgen\[gpu\]'"):
        diffusers_loading.import_diffusers()


def test_check_weights_explains_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="does not exist"):
        diffusers_loading.check_weights(tmp_path / "missing", ["WanVACEPipeline"], "wan-vace")
    with pytest.raises(BackendUnavailable, match=r"no model_index\.json"):
        diffusers_loading.check_weights(tmp_path, ["WanVACEPipeline"], "wan-vace")
    (tmp_path / "model_index.json").write_text('{"_class_name": "WanPipeline"}')
    with pytest.raises(BackendUnavailable, match="holds a WanPipeline pipeline"):
        diffusers_loading.check_weights(tmp_path, ["WanVACEPipeline"], "wan-vace")
    (tmp_path / "model_index.json").write_text('{"_class_name": "WanVACEPipeline"}')
    assert diffusers_loading.check_weights(str(tmp_path), ["WanVACEPipeline"], "wan-vace") == tmp_path
