"""The console's files and the offline docs are served by the app itself, with no CDN."""

from __future__ import annotations

import re

from refgen.console import STATIC_DIR
from refgen.media.images import MAX_DATA_URL_BYTES, MIN_SIDE
from tests.conftest import Server


def test_console_page_is_served_at_the_root_with_its_assets(idle_server: Server) -> None:
    page = idle_server.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in re.findall(r'(?:src|href)="(console/[^"]+)"', page.text):
        assert idle_server.client.get(f"/{asset}").status_code == 200, asset
    for module in (STATIC_DIR / "js").glob("*.js"):
        response = idle_server.client.get(f"/console/assets/js/{module.name}")
        assert response.status_code == 200
        assert "javascript" in response.headers["content-type"]


def test_console_files_name_no_other_host() -> None:
    """Everything the console loads is relative to the page: no CDN, no font service."""
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text()
            assert not re.search(r"""(?:src|href|url\(|import|fetch\()\s*=?\s*["']?(?:https?:)?//""", text), (
                path
            )


def test_console_limits_are_the_servers_numbers(idle_server: Server) -> None:
    limits = idle_server.client.get("/console/limits.json").json()
    assert limits["images"]["min_side"] == MIN_SIDE
    assert limits["images"]["max_data_url_bytes"] == MAX_DATA_URL_BYTES
    assert limits["max_body_bytes"] == 20 * 1024 * 1024 and limits["wm_positions"] == [1, 2, 3, 4]


def test_docs_use_the_vendored_swagger_ui(idle_server: Server) -> None:
    docs = idle_server.client.get("/docs")
    assert docs.status_code == 200
    assert "cdn." not in docs.text and "fastapi.tiangolo.com" not in docs.text
    assets = re.findall(r"""(?:src|href)=['"](/console/vendor/[^'"]+)['"]""", docs.text)
    assert len(assets) == 3  # script, stylesheet, icon
    for asset in assets:
        assert idle_server.client.get(asset).status_code == 200, asset
    assert idle_server.client.get("/redoc").status_code == 404
    assert idle_server.client.get("/openapi.json").json()["paths"]["/ent/v2/tasks"]["get"]
