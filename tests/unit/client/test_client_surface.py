"""The SDK's public surface: ``__all__`` is complete, and importing it loads nothing of the server."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import refgen.client
from refgen.client import errors, models


def test_client_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(refgen.client).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public | {"__version__"} == set(refgen.client.__all__)
    assert len(refgen.client.__all__) == len(set(refgen.client.__all__))
    for name in refgen.client.__all__:
        assert hasattr(refgen.client, name), name


def test_client_all_exports_every_error_and_model() -> None:
    for module, base in ((errors, errors.APIError), (models, models.APIModel)):
        defined = {
            name
            for name, value in vars(module).items()
            if inspect.isclass(value) and issubclass(value, base) and value.__module__ == module.__name__
        }
        assert defined <= set(refgen.client.__all__), defined - set(refgen.client.__all__)


def test_client_errors_share_one_root() -> None:
    for name in refgen.client.__all__:
        value = getattr(refgen.client, name)
        if inspect.isclass(value) and issubclass(value, Exception):
            assert issubclass(value, refgen.client.APIError), name


def test_client_import_loads_nothing_of_the_server() -> None:
    code = (
        "import json, sys; import refgen.client; "
        "print(json.dumps(sorted(m.split('.')[0] if not m.startswith('refgen') else m for m in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(result.stdout))
    forbidden = {"fastapi", "starlette", "sqlalchemy", "alembic", "av", "cv2", "numpy", "PIL", "uvicorn"}
    assert not loaded & forbidden, loaded & forbidden
    server_side = {m for m in loaded if m.startswith("refgen.") and not m.startswith("refgen.client")}
    assert not server_side, server_side


def test_client_verify_callback_checks_the_spec_vector() -> None:
    headers = {
        "Date": "Tue, 06 May 2025 12:09:42 GMT",
        "x-request-nonce": "123e4567-e89b-12d3-a456-426614174000",
        "X-HMAC-SIGNED-HEADERS": "Date;x-request-nonce",
        "X-HMAC-ALGORITHM": "hmac-sha256",
        "X-HMAC-ACCESS-KEY": "vidu",
        "X-HMAC-SIGNATURE": "8FfF2yxrhWwLAyns1Oe0JB0Y490ZnoLDHBltnSs52mg=",
    }
    url = "http://127.0.0.1:8080/vidu/callback?name=james&age=36"
    from datetime import UTC, datetime

    moment = datetime(2025, 5, 6, 12, 10, tzinfo=UTC)
    assert refgen.client.verify_callback("POST", url, headers, "test-token", now=moment)
    assert not refgen.client.verify_callback("POST", url, headers, "other-token", now=moment)
