"""The diffusers backends' model-map options: the common parsers, and the registry reporting them."""

from __future__ import annotations

from typing import Any

import pytest

from refgen.backends import diffusers_options
from refgen.backends.registry import ModelMapError, build_backend, model_routes
from refgen.domain import TaskKind


def test_parse_options_accepts_the_common_options() -> None:
    parsed = diffusers_options.parse_options(
        "x",
        {
            "dtype": "bf16",
            "device": "cuda:1",
            "steps": "8",
            "guidance": 3,
            "offload": True,
            "compile": True,
            "cache": 0.08,
            "attention": "flash",
            "vae_tiling": "true",
        },
        {},
    )
    assert parsed == {
        "dtype": "bfloat16",
        "device": "cuda:1",
        "steps": 8,
        "guidance": 3.0,
        "offload": "model",
        "compile": "blocks",
        "cache": {"type": "first_block", "threshold": 0.08},
        "attention": "flash",
        "vae_tiling": True,
    }
    taylor = {"type": "taylorseer", "cache_interval": 2}
    assert diffusers_options.parse_options("x", {"cache": taylor}, {}) == {"cache": taylor}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": "red"}, "unknown option 'colour'"),
        ({"steps": 0}, "at least 1"),
        ({"steps": True}, "must be an integer"),
        ({"dtype": "int8"}, "must be one of"),
        ({"offload": "disk"}, "must be one of"),
        ({"attention": "flash_hub"}, "downloads kernels"),
        ({"fp8": True, "offload": "model"}, "cannot be combined"),
        ({"guidance": "much"}, "must be a number"),
        ({"cache": {"type": "magic"}}, "first-block cache threshold"),
    ],
)
def test_parse_options_refuses_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(diffusers_options.OptionError, match=message):
        diffusers_options.parse_options("x", options, {})


def test_registry_reports_bad_options_as_model_map_errors() -> None:
    routes = model_routes({"viduq1": {"backend": "wan-vace", "weights": "/nowhere", "options": {"bogus": 1}}})
    with pytest.raises(ModelMapError, match="unknown option 'bogus'"):
        build_backend(routes[(TaskKind.VIDEO, "viduq1")])
