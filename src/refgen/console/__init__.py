"""The web console's files: plain HTML, CSS and ES modules (``static/``), and vendored third-party
assets (``vendor/``: Swagger UI for ``/docs``). Nothing here is built or fetched at run time; the
routes that serve them are in :mod:`refgen.http.console`."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
VENDOR_DIR = Path(__file__).parent / "vendor"
