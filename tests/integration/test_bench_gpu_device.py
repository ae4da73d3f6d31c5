"""``bench/gpu_device.sh`` runs its real code path on the CPU with the tiny configs (``--tiny``), and
its full-size configs build the published architectures (checked on the meta device: no memory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_device_script_prints_every_row_on_tiny_configs(tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    out = tmp_path / "rows.json"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "REFGEN_WHEELS": str(tmp_path),
    }  # no wheels: none installed
    done = subprocess.run(
        ["bash", "bench/gpu_device.sh", "--tiny", "--device", "cpu", "--no-compile", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    body = json.loads(out.read_text())
    assert body["label"].startswith("random weights, CPU")
    rows = {(r["model"], r["tier"], r["size"]): r for r in body["rows"]}
    assert set(rows) == {
        ("klein-4b", "plain", "32x32"),
        ("klein-4b", "plain", "64x32"),
        ("wan-vace-14b", "plain", "32x16x9"),
        ("wan-vace-14b", "plain", "48x32x9"),
        ("wan-vace-14b", "fast", "32x16x9"),
        ("wan-vace-14b", "fast", "48x32x9"),
    }
    for r in rows.values():
        assert r["s/step"] > 0 and r["e2e s"] >= r["s/step"] and r["e2e@recipe"] >= r["e2e s"] * 0.999
    assert rows[("wan-vace-14b", "fast", "32x16x9")]["steps"] == 4
    assert "no fp8" in rows[("wan-vace-14b", "fast", "32x16x9")]["note"]
    assert "s/step" in done.stdout and "random weights" in done.stdout


def test_gpu_device_full_configs_are_the_published_sizes() -> None:
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    configs = ROOT / "bench" / "configs"
    wan = json.loads((configs / "wan-vace-14b.json").read_text())
    klein = json.loads((configs / "flux2-klein-4b.json").read_text())
    with torch.device("meta"):
        wan_model = diffusers.WanVACETransformer3DModel.from_config(wan["transformer"])
        klein_model = diffusers.Flux2Transformer2DModel.from_config(klein["transformer"])
    wan_params = sum(p.numel() for p in wan_model.parameters())
    klein_params = sum(p.numel() for p in klein_model.parameters())
    assert 16.5e9 < wan_params < 17.5e9  # 14B base + 8 VACE blocks: ~32 GiB in bf16
    assert 3.6e9 < klein_params < 4.2e9
