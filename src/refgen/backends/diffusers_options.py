"""Model-map options of the diffusers backends: the parsers, the common table, and validation.

**Options** (the model map's ``options`` object) are parsed once, when the backend is built: an
unknown name or a bad value raises :class:`OptionError` (a ``TypeError``, so the registry reports
it as a model-map error at start-up). Every diffusers backend understands :data:`COMMON_OPTIONS`;
each backend adds its own. See ``docs/gpu-backends.md`` for the full table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any


class OptionError(TypeError):
    """A model-map option is unknown or has a bad value (a TypeError: the registry reports it)."""


OptionParser = Callable[[str, Any], Any]


def int_option(minimum: int = 1) -> OptionParser:
    def parse(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise OptionError(f"option {name!r} must be an integer, not {value!r}")
        try:
            number = int(value)
        except ValueError:
            raise OptionError(f"option {name!r} must be an integer, not {value!r}") from None
        if number < minimum:
            raise OptionError(f"option {name!r} must be at least {minimum}, not {number}")
        return number

    return parse


def float_option(minimum: float = 0.0) -> OptionParser:
    def parse(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise OptionError(f"option {name!r} must be a number, not {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise OptionError(f"option {name!r} must be a number, not {value!r}") from None
        if not math.isfinite(number) or number < minimum:
            raise OptionError(f"option {name!r} must be a number ≥ {minimum}, not {value!r}")
        return number

    return parse


def bool_option(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
        return value.lower() in ("true", "1", "yes", "on")
    raise OptionError(f"option {name!r} must be true or false, not {value!r}")


def choice_option(*choices: str, aliases: Mapping[Any, str] | None = None) -> OptionParser:
    def parse(name: str, value: Any) -> str:
        if aliases and not isinstance(value, list | dict) and value in aliases:
            return aliases[value]
        if isinstance(value, str) and value.lower() in choices:
            return value.lower()
        raise OptionError(f"option {name!r} must be one of {', '.join(choices)}; not {value!r}")

    return parse


def text_option(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OptionError(f"option {name!r} must be a non-empty string, not {value!r}")
    return value


def int_list_option(name: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not value or not all(isinstance(v, int) for v in value):
        raise OptionError(f"option {name!r} must be a list of integers, not {value!r}")
    return tuple(int(v) for v in value)


DTYPES = {
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "float32": "float32",
    "fp32": "float32",
    "auto": "auto",
}


def _dtype(name: str, value: Any) -> str:
    if isinstance(value, str) and value.lower() in DTYPES:
        return DTYPES[value.lower()]
    raise OptionError(f"option {name!r} must be one of bfloat16, float16, float32, auto; not {value!r}")


def _device(name: str, value: Any) -> str:
    if isinstance(value, str) and (value in ("auto", "cpu", "cuda") or value.startswith("cuda:")):
        return value
    raise OptionError(f"option {name!r} must be auto, cpu, cuda or cuda:N; not {value!r}")


def _attention(name: str, value: Any) -> str:
    text = text_option(name, value)
    if text.endswith("_hub"):
        raise OptionError(f"option {name!r}: {text!r} downloads kernels from a hub; use an installed backend")
    return text


CACHE_TYPES = {"first_block": "FirstBlockCacheConfig", "taylorseer": "TaylorSeerCacheConfig"}


def _cache(name: str, value: Any) -> dict[str, Any]:
    """A number is a first-block cache threshold; an object is ``{"type": "first_block" |
    "taylorseer", ...}`` with the rest passed to diffusers' config class of that cache."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"type": "first_block", "threshold": float_option(0.0)(name, value)}
    if isinstance(value, Mapping) and value.get("type") in CACHE_TYPES:
        return dict(value)
    raise OptionError(
        f"option {name!r} must be a first-block cache threshold (a number) or an object with "
        f"'type' one of {', '.join(CACHE_TYPES)}; not {value!r}"
    )


COMMON_OPTIONS: dict[str, OptionParser] = {
    "dtype": _dtype,
    "device": _device,
    "steps": int_option(1),
    "guidance": float_option(0.0),
    "offload": choice_option(
        "none", "model", "sequential", "group", aliases={True: "model", False: "none", None: "none"}
    ),
    "compile": choice_option("none", "blocks", "full", aliases={True: "blocks", False: "none", None: "none"}),
    "compile_backend": text_option,
    "height": int_option(8),
    "width": int_option(8),
    "cache": _cache,
    "fp8": bool_option,
    "attention": _attention,
    "lora": text_option,
    "lora_2": text_option,
    "lora_scale": float_option(0.0),
    "vae_tiling": bool_option,
    "max_references": int_option(1),
    "max_sequence_length": int_option(1),
    "progress_bar": bool_option,
}


def parse_options(
    backend: str, options: Mapping[str, Any] | None, extra: Mapping[str, OptionParser]
) -> dict[str, Any]:
    """Validate ``options`` against the common parsers and the backend's ``extra`` ones."""
    parsers = {**COMMON_OPTIONS, **extra}
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise OptionError(f"options for {backend} must be an object")
    parsed: dict[str, Any] = {}
    for name, value in options.items():
        parser = parsers.get(name)
        if parser is None:
            raise OptionError(
                f"unknown option {name!r} for backend {backend} (known: {', '.join(sorted(parsers))})"
            )
        parsed[name] = parser(name, value)
    if parsed.get("fp8") and parsed.get("offload", "none") != "none":
        raise OptionError(f"{backend}: options 'fp8' and 'offload' cannot be combined")
    if parsed.get("compile") == "full" and "cache" in parsed:
        raise OptionError(
            f"{backend}: 'compile': 'full' traces the cache hooks and fails; "
            "use 'compile': 'blocks' with a cache"
        )
    if "lora_2" in parsed and "lora" not in parsed:
        raise OptionError(f"{backend}: 'lora_2' (the second transformer's LoRA) needs 'lora' too")
    return parsed
