"""HTTP benchmark: status reads, /healthz and creates beside a bare FastAPI endpoint, one run.

    .venv/bin/python bench/api.py [--seconds 10] [--connections 32] [--threads 2]

It starts ``refgen serve`` (the embedded default: SQLite, local files, one worker process) and a
bare FastAPI app served by the same uvicorn with the same options, each in its own process, and
drives them with ``wrk`` (Debian package ``wrk``). Figures, one after the other in the same run:

1. bare FastAPI ``GET /`` returning a small JSON object (the baseline);
2. refgen ``GET /healthz``: target ≥ 0.8× the baseline;
3. refgen ``GET /ent/v2/tasks/{id}/creations`` with a valid key, of a finished task with creations:
   target ≥ 0.6× the baseline;
4. refgen ``POST /ent/v2/reference2video`` with a small data-URL reference while the worker
   renders what was created before: target ≥ 150 created tasks/s (answers other than 200 are
   counted apart and do not count).

The figures are printed, never asserted: machines are shared and noisy. The server writes one
access line per request (the default); ``REFGEN_ACCESS_LOG=false .venv/bin/python bench/api.py``
measures it without them.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

BARE_APP = """
import sys
import uvicorn
from fastapi import FastAPI

app = FastAPI()

@app.get("/")
async def root() -> dict[str, str]:
    return {"status": "ok"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def reference() -> str:
    out = io.BytesIO()
    Image.new("RGB", (160, 160), (200, 80, 40)).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise SystemExit(f"server at {url} did not come up") from None
            time.sleep(0.2)


def request(method: str, url: str, token: str, body: object | None = None) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Token {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as answer:
        parsed = json.loads(answer.read())
    assert isinstance(parsed, dict)
    return parsed


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass(frozen=True)
class Load:
    requests_per_s: float
    requests: int
    not_ok: int  # answers other than 2xx/3xx, plus socket errors and timeouts
    detail: str
    latency_p50_ms: float
    latency_p99_ms: float


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _millis(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def wrk(url: str, args: argparse.Namespace, *, headers: dict[str, str], script: Path | None = None) -> Load:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    not_ok = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in errors.groups()) if errors else 0)
    detail = ", ".join(
        part
        for part in (
            f"{bad.group(1)} non-2xx" if bad else "",
            "socket errors (connect, read, write, timeout) " + ", ".join(errors.groups()) if errors else "",
        )
        if part
    )
    # the latency distribution's own lines (a "…50%" can end a line of the thread stats too)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    return Load(
        requests_per_s=rate,
        requests=total,
        not_ok=not_ok,
        detail=detail,
        latency_p50_ms=_millis(p50.group(1)) if p50 else float("nan"),
        latency_p99_ms=_millis(p99.group(1)) if p99 else float("nan"),
    )


def show(name: str, load: Load, baseline: Load | None = None, target: float | None = None) -> None:
    ok_rate = load.requests_per_s * (load.requests - load.not_ok) / max(load.requests, 1)
    line = (
        f"{name:<34} {ok_rate:>9.0f} ok/s  p50 {load.latency_p50_ms:7.2f} ms  "
        f"p99 {load.latency_p99_ms:7.2f} ms  not ok {load.not_ok}"
    )
    if baseline is not None:
        ratio = ok_rate / baseline.requests_per_s
        line += f"  ratio {ratio:.2f}" + (f" (target ≥ {target})" if target is not None else "")
    elif target is not None:
        line += f"  (target ≥ {target:.0f}/s)"
    print(line + (f"  [{load.detail}]" if load.detail else ""), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="Length of each load run.")
    parser.add_argument("--connections", type=int, default=32, help="Open connections of wrk.")
    parser.add_argument("--threads", type=int, default=2, help="Threads of wrk.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/api.py needs wrk: apt-get install wrk")

    with tempfile.TemporaryDirectory(prefix="refgen-bench-http-") as tmp:
        data = Path(tmp) / "data"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "REFGEN_DATA_DIR": str(data),
            # creates run for the whole load run: let the queue hold them all
            "REFGEN_MAX_QUEUED_TASKS": "1000000",
            "REFGEN_MAX_QUEUED_PER_KEY": "1000000",
        }
        refgen_port, bare_port = free_port(), free_port()
        serve = [sys.executable, "-m", "refgen", "serve", "--port", str(refgen_port), "--workers", "1"]
        with (
            process(serve, env, Path(tmp) / "refgen.log"),
            process([sys.executable, "-c", BARE_APP, str(bare_port)], env, Path(tmp) / "bare.log"),
        ):
            base = f"http://127.0.0.1:{refgen_port}"
            wait_until_up(f"{base}/healthz")  # serve has made the database: a key can be added now
            wait_until_up(f"http://127.0.0.1:{bare_port}/")
            made = subprocess.run(
                [sys.executable, "-m", "refgen", "keys", "create", "--name", "bench"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            token = made.stdout.strip().splitlines()[-1].strip()
            body = {"model": "viduq1", "images": [reference()], "prompt": "benchmark", "aspect_ratio": "1:1"}
            task_id = request("POST", f"{base}/ent/v2/reference2video", token, body)["task_id"]
            deadline = time.monotonic() + 300
            while (
                state := request("GET", f"{base}/ent/v2/tasks/{task_id}/creations", token)["state"]
            ) not in (
                "success",
                "failed",
            ):
                if time.monotonic() > deadline:
                    raise SystemExit("the first task did not finish")
                time.sleep(0.5)
            if state != "success":
                raise SystemExit("the first task failed: see the server log")

            print(f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, one run, same machine")
            bare = wrk(f"http://127.0.0.1:{bare_port}/", args, headers={})
            show("bare FastAPI GET /", bare)
            auth = {"Authorization": f"Token {token}"}
            show("refgen GET /healthz", wrk(f"{base}/healthz", args, headers={}), bare, 0.8)
            reads = wrk(f"{base}/ent/v2/tasks/{task_id}/creations", args, headers=auth)
            show("refgen GET …/creations", reads, bare, 0.6)
            script = Path(tmp) / "create.lua"
            script.write_text(
                'wrk.method = "POST"\n'
                f"wrk.body = {json.dumps(json.dumps(body))}\n"
                'wrk.headers["Content-Type"] = "application/json"\n'
            )
            creates = wrk(f"{base}/ent/v2/reference2video", args, headers=auth, script=script)
            show("refgen POST reference2video", creates, None, 150)


if __name__ == "__main__":
    main()
