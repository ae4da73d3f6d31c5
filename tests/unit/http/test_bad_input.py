"""Input that once crashed a request with 500 now gets a clear 400 (or 404), and leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from refgen.files.base import valid_key
from refgen.http.bodies import MAX_BODY_BYTES
from tests.conftest import Server, make_server
from tests.images import data_url, picture

JSON = {"content-type": "application/json"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from make_server(tmp_path, workers=0)


@pytest.fixture
def client(server: Server) -> TestClient:
    """A client that answers with the server's 500 instead of raising it, as a real client sees it."""
    return TestClient(server.client.app, raise_server_exceptions=False)


def stored(server: Server) -> tuple[int, int]:
    key = server.runtime.authenticator.key_for(server.token)
    assert key is not None
    files = [p for p in server.files.root.rglob("*") if p.is_file()]
    return len(server.store.tasks.list_tasks(key.id)), len(files)


def create(client: TestClient, server: Server, raw: str) -> tuple[int, dict[str, object]]:
    response = client.post("/ent/v2/reference2video", content=raw, headers={**server.auth, **JSON})
    return response.status_code, response.json()


@pytest.mark.parametrize("path", ["/ent/v2/reference2video", "/ent/v2/tasks/some-task/cancel"])
def test_bad_input_json_nested_too_deep_is_400(client: TestClient, server: Server, path: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    response = client.post(path, content=deep, headers={**server.auth, **JSON})
    assert response.status_code == 400
    assert response.json()["message"] == "request body is nested too deeply"


def test_bad_input_integer_literal_of_5000_digits_is_400(client: TestClient, server: Server) -> None:
    image, seed = data_url(picture()), "9" * 5000
    raw = f'{{"model": "vidu2.0", "images": ["{image}"], "prompt": "p", "seed": {seed}}}'
    status, body = create(client, server, raw)
    assert (status, body["reason"]) == (400, "BadRequest")
    assert stored(server) == (0, 0)


@pytest.mark.parametrize("digits", ["9" * 5000, "-" + "9" * 5000, "0" * 5000 + "7"])
def test_bad_input_numeric_string_of_5000_digits_is_out_of_range(
    client: TestClient, server: Server, digits: str
) -> None:
    body = {"model": "vidu2.0", "images": [data_url(picture())], "prompt": "p", "seed": digits}
    response = client.post("/ent/v2/reference2video", json=body, headers=server.auth)
    if digits.startswith("0"):  # leading zeros do not make a number large: seed 7
        assert response.status_code == 200 and response.json()["seed"] == 7
        return
    assert response.status_code == 400
    assert response.json()["message"] == "invalid field: seed (0 to 2147483647)"


@pytest.mark.parametrize(("field", "raw_value"), [("prompt", '"a \\ud800 b"'), ("payload", '"\\udfff"')])
def test_bad_input_lone_surrogate_names_its_field(
    client: TestClient, server: Server, field: str, raw_value: str
) -> None:
    fields = {
        "model": '"vidu2.0"',
        "images": f'["{data_url(picture())}"]',
        "prompt": '"p"',
        field: raw_value,
    }
    raw = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
    status, body = create(client, server, raw)
    assert (status, body["reason"]) == (400, "FieldInvalid")
    assert body["message"] == f"invalid field: {field} (not valid Unicode text)"
    assert stored(server) == (0, 0)


def test_bad_input_meta_data_is_capped_like_payload(client: TestClient, server: Server) -> None:
    body = {"model": "vidu2.0", "images": [data_url(picture())], "prompt": "p", "meta_data": "x" * 1_048_577}
    response = client.post("/ent/v2/reference2video", json=body, headers=server.auth)
    assert response.status_code == 400
    assert response.json()["message"] == "invalid field: meta_data (at most 1048576 characters)"
    assert stored(server) == (0, 0)


@pytest.mark.parametrize("key", ["/etc/passwd", "../secret.key", "tasks/../../secret.key", "tasks/a/.."])
def test_bad_input_signed_file_key_outside_the_store_is_404(
    client: TestClient, server: Server, key: str
) -> None:
    assert not valid_key(key)
    query = server.runtime.signer.url(key).rsplit("?", 1)[1]  # a valid signature for this key
    # dots sent percent-encoded, so the HTTP client does not fold the ".." segments away
    response = client.get(f"/files/{key.replace('.', '%2E')}?{query}")
    assert response.status_code == 404, response.text
    assert response.json()["message"] == f"file not found: {key}"


def test_bad_input_valid_keys() -> None:
    assert valid_key("tasks/t1/out1/video.mp4")
    assert not valid_key("") and not valid_key("/abs") and not valid_key("a/../b")


def test_bad_input_body_limit_is_unchanged() -> None:
    assert MAX_BODY_BYTES == 20 * 1024 * 1024


def test_bad_input_body_cut_short_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    import anyio
    from starlette.requests import Request

    from refgen.errors import RequestError
    from refgen.http.bodies import read_json

    messages = iter(
        [
            {"type": "http.request", "body": b'{"model": "vid', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> dict[str, object]:
        return next(messages)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/ent/v2/reference2video",
        "headers": [],
        "query_string": b"",
    }

    async def read() -> None:
        with pytest.raises(RequestError, match="ended before its Content-Length"):
            await read_json(Request(scope, receive))

    with caplog.at_level("INFO", logger="refgen"):
        anyio.run(read)
    [record] = caplog.records
    assert record.exc_info is None and "disconnected after 14 bytes" in record.getMessage()
