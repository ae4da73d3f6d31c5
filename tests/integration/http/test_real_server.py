"""The app over real HTTP (uvicorn), a real SQLite store and the compositor in worker threads."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from refgen.backends.compositor import CompositorBackend
from refgen.http.app import create_app
from refgen.keys import create_key
from refgen.resources import open_engine, open_files, open_store
from refgen.runtime import build_runtime
from refgen.settings import Settings
from refgen.testing.backends import every_route
from refgen.worker.groups import ThreadWorkers
from refgen.worker.loop import Worker, WorkerTiming
from tests.images import data_url, picture
from tests.integration.scale.cluster import fresh_bucket, fresh_database

LIMIT = 20 * 1024 * 1024


@dataclass
class Live:
    base_url: str
    token: str
    port: int

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Token {self.token}"}, timeout=30
        )


@pytest.fixture(params=["sqlite+local", "postgres+s3"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    """The server on each deployment shape: embedded (SQLite, local files) and scaled (PostgreSQL, S3)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(data_dir=tmp_path / "data", port=port)
    if request.param == "postgres+s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        settings = settings.model_copy(
            update={
                "database_url": fresh_database(request.getfixturevalue("postgres_url")),
                "storage_url": f"s3://{fresh_bucket(endpoint)}/live",
                "s3_endpoint_url": endpoint,
            }
        )
    engine = open_engine(settings)
    store = open_store(settings, engine=engine)
    files = open_files(settings)
    backend = CompositorBackend()
    timing = WorkerTiming(lease_seconds=10, heartbeat_seconds=0.1, poll_seconds=0.05)
    workers = ThreadWorkers(
        [
            Worker(
                store.queue,
                files,
                every_route(backend),
                timing=timing,
            )
        ]
    )
    runtime = build_runtime(settings, store=store, files=files, workers=workers)
    _, token = create_key(store.keys, runtime.cipher, "live")
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", token, port)
    server.should_exit = True
    thread.join(20)
    engine.dispose()


def test_chunked_body_over_20_mb_is_refused_before_it_is_all_read(live: Live) -> None:
    """No Content-Length: the server counts while it reads and answers 413 once past the limit."""
    sent = 0
    chunk = b"x" * (256 * 1024)
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(
            b"POST /ent/v2/reference2video HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            + f"Authorization: Token {live.token}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        try:
            while sent < 40 * 1024 * 1024:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        response = b""
        try:
            while b"\r\n\r\n" not in response:
                data = sock.recv(65536)
                if not data:
                    break
                response += data
        except ConnectionResetError:
            pass
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert sent < 40 * 1024 * 1024, "the server read the whole oversized body"


def test_declared_length_over_20_mb_is_refused_at_once(live: Live) -> None:
    with live.client() as client:
        response = client.post("/ent/v2/reference2image", content=b"{" + b" " * (LIMIT + 10) + b"}")
    assert response.status_code == 413
    assert response.json()["reason"] == "BadRequest" and len(response.json()["metadata"]["trace_id"]) == 32


def test_video_task_end_to_end_on_sqlite(live: Live, tmp_path: Path) -> None:
    from refgen.media.video import probe

    with live.client() as client:
        created = client.post(
            "/ent/v2/reference2video",
            json={
                "model": "vidu2.0",
                "images": [data_url(picture()), data_url(picture(colour=(30, 90, 200)))],
                "prompt": "two balloons",
                "bgm": True,
                "aspect_ratio": "1:1",
            },
        )
        assert created.status_code == 200, created.text
        task_id = created.json()["task_id"]
        deadline = time.monotonic() + 120
        while (body := client.get(f"/ent/v2/tasks/{task_id}/creations").json())["state"] not in (
            "success",
            "failed",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert body["state"] == "success", body
        assert body["bgm"] is True and body["credits"] == 2
        video = httpx.get(body["creations"][0]["url"], timeout=30)
    path = tmp_path / "v.mp4"
    path.write_bytes(video.content)
    info = probe(path)
    assert (info.width, info.height, info.frame_count, info.has_audio, info.audio_codec) == (
        360,
        360,
        96,
        True,
        "aac",
    )


def test_docs_and_openapi_are_served(live: Live) -> None:
    with httpx.Client(base_url=live.base_url) as client:
        assert client.get("/docs").status_code == 200
        paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/ent/v2/reference2video",
        "/ent/v2/reference2image",
        "/ent/v2/tasks/{task_id}/creations",
        "/ent/v2/tasks/{task_id}/cancel",
    } <= set(paths)
