"""schemathesis against the server's own ``/openapi.json`` on a real ``refgen serve``: a short run of
``scripts/api_fuzz.py`` (every phase, every check, a fixed seed), so the schema cannot drift from
what the routes do. The full run is the same script with its defaults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_openapi_fuzz_finds_no_server_error_and_no_failed_check() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "api_fuzz.py"),
            "--max-examples",
            "15",
            "--seed",
            "7",
            "--workers",
            "1",
            "--min-requests",
            "300",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-8000:]
    assert "0 with status >= 500" in out and "schemathesis exit status 0" in out, out[-4000:]
