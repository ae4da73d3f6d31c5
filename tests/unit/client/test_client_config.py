"""Base URL and key from arguments or the environment, as existing Vidu tools set them."""

from __future__ import annotations

import httpx
import pytest

from refgen.client import DEFAULT_BASE_URL, AsyncClient, Client
from refgen.client.config import normalize_base_url, resolve_api_key, resolve_base_url

VARIABLES = ("REFGEN_BASE_URL", "REFGEN_API_KEY", "VIDU_API_HOST", "VIDU_API_KEY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def seen_by(client_factory: type[Client], **kwargs: object) -> httpx.Request:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"id": "t1", "state": "queueing", "creations": []})

    with client_factory(transport=httpx.MockTransport(handler), **kwargs) as client:  # type: ignore[arg-type]
        client.get("t1")
    return sent[0]


def test_client_defaults_to_local_server_without_settings() -> None:
    assert resolve_base_url() == DEFAULT_BASE_URL == "http://127.0.0.1:8000"
    assert resolve_api_key() is None


def test_client_reads_refgen_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFGEN_BASE_URL", "http://gpu-box:9000/")
    monkeypatch.setenv("REFGEN_API_KEY", "rg_env")
    request = seen_by(Client)
    assert str(request.url) == "http://gpu-box:9000/ent/v2/tasks/t1/creations"
    assert request.headers["authorization"] == "Token rg_env"


def test_client_reads_vidu_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDU_API_HOST", "api.vidu.com")
    monkeypatch.setenv("VIDU_API_KEY", "vda_cloud")
    request = seen_by(Client)
    assert str(request.url) == "https://api.vidu.com/ent/v2/tasks/t1/creations"
    assert request.headers["authorization"] == "Token vda_cloud"


def test_client_refgen_variables_win_and_arguments_win_over_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDU_API_HOST", "api.vidu.com")
    monkeypatch.setenv("VIDU_API_KEY", "vidu")
    monkeypatch.setenv("REFGEN_BASE_URL", "http://localhost:8000")
    monkeypatch.setenv("REFGEN_API_KEY", "refgen")
    assert resolve_base_url() == "http://localhost:8000" and resolve_api_key() == "refgen"
    request = seen_by(Client, api_key="argument", base_url="https://example.org/ent/v2")
    assert str(request.url) == "https://example.org/ent/v2/tasks/t1/creations"
    assert request.headers["authorization"] == "Token argument"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("api.vidu.com", "https://api.vidu.com"),
        ("https://api.vidu.cn/", "https://api.vidu.cn"),
        ("localhost:8000", "http://localhost:8000"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://10.0.0.5:8000/ent/v2/", "http://10.0.0.5:8000"),
        ("https://gateway.example.com/vidu", "https://gateway.example.com/vidu"),
    ],
)
def test_client_base_url_normalised(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_client_headers_and_timeout_are_injectable() -> None:
    request = seen_by(Client, api_key="k", headers={"X-Team": "blue"}, timeout=3.0)
    assert request.headers["x-team"] == "blue" and request.headers["user-agent"].startswith("refgen-python")
    assert request.extensions["timeout"] == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}


@pytest.mark.anyio
async def test_async_client_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDU_API_HOST", "api.vidu.com")
    monkeypatch.setenv("REFGEN_API_KEY", "rg_async")
    sent: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"id": "t1", "state": "success", "creations": [], "new_field": 1})

    async with AsyncClient(transport=httpx.MockTransport(handler)) as client:
        generation = await client.get("t1")
    assert str(sent[0].url) == "https://api.vidu.com/ent/v2/tasks/t1/creations"
    assert sent[0].headers["authorization"] == "Token rg_async"
    assert generation.succeeded and generation.model_extra == {"new_field": 1}
