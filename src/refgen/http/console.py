"""The web console at ``/`` and the OpenAPI docs at ``/docs``, served from files in the package.

Nothing is loaded from a CDN: the console is plain HTML/CSS/ES modules (:mod:`refgen.console`) and
the docs use a vendored copy of Swagger UI. The console talks only to the public API, plus
``/console/limits.json``: the image and field limits the server enforces, read from the same
constants validation uses, so the browser checks pictures against exactly the server's numbers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from refgen.console import STATIC_DIR, VENDOR_DIR
from refgen.contract.catalogue import DEFAULT_WM_POSITION, PAYLOAD_MAX, SEED_MAX, WM_POSITIONS
from refgen.http.bodies import MAX_BODY_BYTES
from refgen.http.covers import router as covers_router
from refgen.media.images import MAX_ASPECT, MAX_DATA_URL_BYTES, MAX_IMAGE_BYTES, MAX_PIXELS, MIN_SIDE
from refgen.runtime import Runtime

ASSETS_PATH = "/console/assets"
VENDOR_PATH = "/console/vendor"

# The console page loads only its own files; media may come from wherever file links point (S3).
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src * data: blob:; "
    "media-src * data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


def console_limits(runtime: Runtime | None = None) -> dict[str, Any]:
    """What the console checks in the browser before it sends anything (the server's own numbers),
    and which backend serves each model here (``backends``: kind → model → backend name), so that it
    can say where a model is the compositor rather than a neural model."""
    backends: dict[str, dict[str, str]] = {}
    for (kind, model), route in (runtime.routes if runtime else {}).items():
        backends.setdefault(kind.value, {})[model] = route.backend
    return {
        "images": {
            "formats": ["png", "jpeg", "webp"],
            "min_side": MIN_SIDE,
            "max_aspect": MAX_ASPECT,
            "max_pixels": MAX_PIXELS,
            "max_bytes": MAX_IMAGE_BYTES,
            "max_data_url_bytes": MAX_DATA_URL_BYTES,
        },
        "max_body_bytes": MAX_BODY_BYTES,
        "seed_max": SEED_MAX,
        "payload_max": PAYLOAD_MAX,
        "wm_positions": list(WM_POSITIONS),
        "default_wm_position": DEFAULT_WM_POSITION,
        "backends": backends,
    }


@router.get("/")
async def console_page() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "index.html",
        media_type="text/html",
        headers={"Cache-Control": "no-cache", "Content-Security-Policy": CONSOLE_CSP},
    )


@router.get("/console/limits.json")
async def limits(request: Request) -> dict[str, Any]:
    runtime = request.app.state.runtime
    return console_limits(runtime if isinstance(runtime, Runtime) else None)


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    app = request.app
    assert isinstance(app, FastAPI)
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} — API docs",
        swagger_js_url=f"{root}{VENDOR_PATH}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{VENDOR_PATH}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{root}{VENDOR_PATH}/swagger-ui/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},
    )


def install_console(app: FastAPI) -> None:
    """Serve the console at ``/``, its files under ``/console``, and offline docs at ``/docs``.
    Build the app with ``docs_url=None, redoc_url=None`` so FastAPI's CDN-backed pages are not added."""
    app.include_router(router)
    app.include_router(covers_router)
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC_DIR), name="console-assets")
    app.mount(VENDOR_PATH, StaticFiles(directory=VENDOR_DIR), name="console-vendor")
