"""The options every client command shares, and how their values are read.

``--base-url`` and ``--api-key`` (and the :class:`~refgen.client.Client` they make), ``--json``,
and ``--image`` values (a URL as it is, anything else a local file that must exist). Every option
shows its environment variable in ``--help``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import click

from refgen.cli.exit_codes import EXIT_AUTH, EXIT_USAGE, fail
from refgen.client import DEFAULT_BASE_URL, Client

option = partial(click.option, show_envvar=True)


def connection_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = option(
        "--api-key",
        envvar=["REFGEN_API_KEY", "VIDU_API_KEY"],
        help="API key, sent as 'Authorization: Token <key>'.",
    )(f)
    return option(
        "--base-url",
        envvar=["REFGEN_BASE_URL", "VIDU_API_HOST"],
        help=f"Server to talk to (a bare host means https, localhost http) [default: {DEFAULT_BASE_URL}].",
    )(f)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return option(
        "--json", "as_json", is_flag=True, envvar="REFGEN_JSON", help="Print JSON on stdout, for scripts."
    )(f)


def image_inputs(values: tuple[str, ...]) -> list[str | Path]:
    """``--image`` values: URLs as they are, anything else a local file that must exist."""
    out: list[str | Path] = []
    for value in values:
        if value.lower().startswith(("http://", "https://", "data:")):
            out.append(value)
            continue
        path = Path(value).expanduser()
        if path.is_dir():
            fail(f"image is a folder, not a picture file: {value}", EXIT_USAGE)
        if not path.is_file():
            fail(f"image not found: {value}", EXIT_USAGE)
        out.append(path)
    return out


def make_client(base_url: str | None, api_key: str | None) -> Client:
    if not (api_key or "").strip():
        fail("no API key: use --api-key or set REFGEN_API_KEY (or VIDU_API_KEY)", EXIT_AUTH)
    return Client(api_key, base_url=base_url)
