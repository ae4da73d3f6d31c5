"""Fuzz the HTTP API against its own ``/openapi.json`` with schemathesis, on a real ``refgen serve``.

Starts the server from this checkout on a fresh data folder and a free port, creates a key with
``refgen keys create --name fuzz``, runs schemathesis with every phase (examples, coverage, fuzzing,
stateful) and every check, then stops the server. The rules the schema cannot state are configured
in ``schemathesis.toml`` beside this folder (see the comments there).

Besides schemathesis' own verdict it counts, from the server's access log, how many requests were
answered and how many of those were 5xx. Exit status 0 only when schemathesis found nothing and no
answer was a 5xx.

    python scripts/api_fuzz.py                       # the full run (several thousand requests)
    python scripts/api_fuzz.py --max-examples 10     # a short one
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "schemathesis.toml"
PHASES = "examples,coverage,fuzzing,stateful"
ACCESS_LINE = re.compile(r'"[A-Z]+ [^"]*HTTP/[0-9.]+" (\d{3})')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    env.update(REFGEN_DATA_DIR=str(data_dir), REFGEN_PORT=str(port), REFGEN_WORKERS="1")
    for name in ("REFGEN_DATABASE_URL", "REFGEN_STORAGE_URL", "REFGEN_MODEL_MAP", "REFGEN_PUBLIC_URL"):
        env.pop(name, None)
    return env


def wait_ready(base_url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited early:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server was not ready within {timeout:.0f} s:\n{log.read_text()[-4000:]}")


def schemathesis_command(base_url: str, token: str, args: argparse.Namespace) -> list[str]:
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    command = [
        executable,
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        "all",
        "--phases",
        args.phases,
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--request-timeout",
        "60",
        "--no-color",
    ]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    return command


def count_answers(log: Path) -> tuple[int, int]:
    statuses = [int(m.group(1)) for m in ACCESS_LINE.finditer(log.read_text(errors="replace"))]
    return len(statuses), sum(status >= 500 for status in statuses)


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="refgen-fuzz-") as scratch:
        data_dir = Path(scratch) / "data"
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = server_env(data_dir, port)
        refgen = [sys.executable, "-m", "refgen"]
        log = Path(scratch) / "server.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [*refgen, "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_ready(base_url, server, log)  # first: only `refgen serve` creates the database
            made = subprocess.run(
                [*refgen, "keys", "create", "--name", "fuzz"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
            token = made.stdout.strip().splitlines()[-1]
            fuzz = subprocess.run(schemathesis_command(base_url, token, args), cwd=scratch, check=False)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        answered, server_errors = count_answers(log)
        print(f"api-fuzz: {answered} requests answered, {server_errors} with status >= 500")
        print(f"api-fuzz: phases {args.phases}, seed {args.seed}, {args.max_examples} examples")
        print(f"api-fuzz: schemathesis exit status {fuzz.returncode}")
        if server_errors:
            print(log.read_text(errors="replace")[-6000:])
        if answered < args.min_requests:
            print(f"api-fuzz: fewer than the {args.min_requests} requests asked for")
            return 1
        return 1 if fuzz.returncode or server_errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-examples", type=int, default=200, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=1, help="schemathesis' random seed")
    parser.add_argument("--phases", default=PHASES)
    # one worker: with more, schemathesis' threads parse source concurrently (describing its lambdas),
    # which CPython 3.11's parser does not survive ("AST constructor recursion depth mismatch")
    parser.add_argument("--workers", type=int, default=1, help="schemathesis' concurrent workers")
    parser.add_argument("--max-time", type=int, default=0, help="seconds for the whole run (0: no limit)")
    parser.add_argument("--min-requests", type=int, default=2000, help="fail when fewer were answered")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
