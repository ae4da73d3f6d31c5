"""The benchmarks under ``bench/`` still run and print their figures (no timing is asserted).

They are scripts, so nothing else would notice when a change to the code they drive breaks them.
Each runs here once on the smallest settings: the compositor's, the cut-out scorer's, the large
references', the speech synthesizer's, and the GPU benchmark on the CPU with tiny random-weight pipelines.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refgen.media import speech
from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_compositor_benchmark_prints_its_figures() -> None:
    out = _run("bench/compositor.py", "--seconds", "1", "--repeat", "1")
    for line in ("bare encode", "compositor + encode", "ratio", "peak memory", "4K reference2image"):
        assert line in out, out
    assert "set-up, 4000 px JPEGs" in out
    for kind in ("img2video", "start-end2video", "text2video"):
        assert kind in out and out.count("(target <= 1.5)") >= 4, out


def test_connections_benchmark_prints_latencies_with_and_without_a_flood() -> None:
    out = _run("bench/connections.py", "--connections", "300", "--seconds", "2", "--scenarios", "capped")
    assert "open files limit 1024 (hard 1024); at most 768 HTTP connections" in out, out
    for line in ("no flood", "300 held", "ratio held/no flood p50", "after the flood"):
        assert line in out, out


def test_api_benchmark_prints_reads_and_creates_beside_bare_fastapi() -> None:
    if shutil.which("wrk") is None:
        unavailable("wrk is not installed (scripts/install-test-services.sh installs it)")
    out = _run("bench/api.py", "--seconds", "1", "--connections", "4", "--threads", "1")
    for line in (
        "bare FastAPI GET /",
        "refgen GET /healthz",
        "refgen GET …/creations",
        "POST reference2video",
    ):
        assert line in out, out
    assert out.count("ratio") == 2 and "(target ≥ 150/s)" in out, out


def test_cutout_benchmark_scores_both_methods() -> None:
    pytest.importorskip("skimage", reason="the cut-out benchmark uses scikit-image's sample photos")
    out = _run("bench/cutout.py", "--limit", "3")
    assert "3 composites" in out
    assert "shipped: border + colour seed" in out and "border seed only" in out
    assert "astronaut photo" in out and out.count(" piece(s)") == 2, out  # her IoU and pieces, by method


def test_big_references_benchmark_prints_peak_memory_of_both_kinds() -> None:
    out = _run("bench/big_references.py", "--megapixels", "2", "--count", "2", "--seconds", "1")
    assert "built 2 references of 2 MP" in out, out
    for line in ("reference2video", "reference2image", "2 x 2 MP", "2 x 1 MP", "ratio large/1 MP"):
        assert line in out, out
    assert out.count(" MiB ") >= 4, out


def test_speech_benchmark_prints_cpu_per_line() -> None:
    if not speech.available():
        unavailable(f"{speech.PROGRAM} is not installed (scripts/install-speech.sh installs it)")
    out = _run("bench/speech.py", "--runs", "1")
    for line in ("short", "long", "prompt-sized", "soundtrack of 5 s"):
        assert line in out, out


def test_gpu_benchmark_runs_on_the_cpu_with_tiny_pipelines(tmp_path: Path) -> None:
    pytest.importorskip("diffusers", reason="the gpu extra is not installed")
    from refgen.testing.tiny_diffusers import (
        FLUX_TINY_OPTIONS,
        WAN_TINY_OPTIONS,
        save_tiny_flux2_klein,
        save_tiny_wan_vace,
    )

    wan = save_tiny_wan_vace(tmp_path / "wan")
    flux = save_tiny_flux2_klein(tmp_path / "flux")
    options = [
        f"{prefix}:{key}={json.dumps(value)}"
        for prefix, tiny in (("wan", WAN_TINY_OPTIONS), ("flux", FLUX_TINY_OPTIONS))
        for key, value in tiny.items()
        if key != "steps"
    ]
    rows = tmp_path / "rows.json"
    _run(
        "bench/gpu.py",
        "--allow-cpu",
        "--wan",
        str(wan),
        "--flux",
        str(flux),
        "--steps",
        "1",
        "--configs",
        "bf16,fp32",
        "--video-resolutions",
        "360p",
        "--image-resolutions",
        "1080p",
        "--duration",
        "1",
        "--references",
        "2",
        "--json",
        str(rows),
        *(arg for option in options for arg in ("--option", option)),
    )
    table = json.loads(rows.read_text())
    measured = {(row["backend"], row["config"]): row for row in table["rows"]}
    assert {b for b, _ in measured} == {"wan-vace", "flux2-klein"}
    for (_, config), row in measured.items():
        assert row["PSNR"] == (float("inf") if config == "bf16" else row["PSNR"]) and row["PSNR"] > 0, row
        assert isinstance(row["total s"], float) and row["total s"] > 0, row
        assert isinstance(row["s/step"], float), row


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py")))
def test_bench_scripts_import_nothing_of_the_test_suite(script: str) -> None:
    """Benchmarks run from the project's install (plus `make bench`'s extra): no pytest, no tests."""
    tree = ast.parse((ROOT / "bench" / script).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in ("tests", "pytest")}


def test_scale_benchmark_starts_without_pytest() -> None:
    blocked = "import sys; sys.modules['pytest'] = None; sys.modules['tests'] = None; "
    run = "import runpy; sys.argv = ['scale.py', '--help']; "
    run += "runpy.run_path('bench/scale.py', run_name='__main__')"
    assert "Scale-out benchmark" in _run("-c", blocked + run, timeout=120)
