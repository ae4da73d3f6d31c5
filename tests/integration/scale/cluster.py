"""A scaled-out refgen on one machine: API processes and worker processes sharing PostgreSQL and S3."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from tests.services import free_port

REFGEN = str(Path(sys.executable).parent / "refgen")


def fresh_database(admin_url: str) -> str:
    name = f"refgen_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def fresh_bucket(endpoint: str) -> str:
    import boto3

    bucket = f"refgen-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return bucket


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    apis: list[tuple[subprocess.Popen[bytes], int]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def create(
        cls, root: Path, postgres_url: str, s3_endpoint: str, model_map: dict[str, object], **extra: str
    ) -> Cluster:
        env = {
            **os.environ,
            "REFGEN_DATABASE_URL": fresh_database(postgres_url),
            "REFGEN_STORAGE_URL": f"s3://{fresh_bucket(s3_endpoint)}/refgen",
            "REFGEN_S3_ENDPOINT_URL": s3_endpoint,
            "REFGEN_SECRET_KEY": uuid.uuid4().hex * 2,
            "REFGEN_MODEL_MAP": json.dumps(model_map),
            "REFGEN_DATA_DIR": str(root / "data"),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
        return cls(root, env)

    def cli(self, *args: str) -> str:
        result = subprocess.run([REFGEN, *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"refgen {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout

    def new_key(self, name: str, concurrency: int = 5) -> str:
        return (
            self.cli("keys", "create", "--name", name, "--concurrency", str(concurrency))
            .strip()
            .splitlines()[-1]
        )

    def start_api(self) -> str:
        port = free_port()
        log = (self.root / f"api-{port}.log").open("ab")
        process = subprocess.Popen(
            [REFGEN, "serve", "--no-worker", "--port", str(port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.apis.append((process, port))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (self.root / f"api-{port}.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "API process did not start"
            time.sleep(0.2)

    def start_worker(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"worker-{len(self.workers)}.log").open("ab")
        process = subprocess.Popen(
            [REFGEN, "worker", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.workers.append(process)
        return process

    def stop(self) -> None:
        for process in self.workers + [p for p, _ in self.apis]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers + [p for p, _ in self.apis]:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
