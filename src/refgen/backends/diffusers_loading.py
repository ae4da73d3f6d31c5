"""Loading a diffusers pipeline: lazy torch/diffusers imports, weights checks, device and dtype,
the speed and memory options, and giving memory back.

Torch and diffusers are imported only inside :func:`import_torch` / :func:`import_diffusers`, which
the backends call from ``load``; importing this module (or a backend module) needs neither, and a
missing ``gpu`` extra is reported as :class:`~refgen.errors.BackendUnavailable` naming the install
command. Any failure while loading becomes :class:`~refgen.errors.BackendUnavailable` too, after
:func:`free_memory` has given back what was taken.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from refgen.backends.diffusers_hints import fold_vace_hints, has_vace_hints
from refgen.backends.diffusers_options import CACHE_TYPES
from refgen.errors import BackendUnavailable

INSTALL_HINT = "pip install 'refgen[gpu]'"
DOCS_HINT = "see docs/gpu-backends.md"


# ---------------------------------------------------------------- lazy imports


def import_torch() -> Any:
    """``torch``, or BackendUnavailable naming the extra to install."""
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailable(f"the diffusers backends need torch: {INSTALL_HINT} ({exc})") from None
    return torch


def import_diffusers() -> Any:
    """``diffusers``, or BackendUnavailable naming the extra to install."""
    import_torch()
    try:
        import diffusers
    except ImportError as exc:
        raise BackendUnavailable(f"the diffusers backends need diffusers: {INSTALL_HINT} ({exc})") from None
    return diffusers


# ---------------------------------------------------------------- loading


def check_weights(weights: str | Path, pipeline_classes: Sequence[str], backend: str) -> Path:
    """The weights folder, after checking it is a diffusers pipeline of one of ``pipeline_classes``."""
    folder = Path(weights).expanduser()
    index = folder / "model_index.json"
    if not folder.is_dir():
        raise BackendUnavailable(f"{backend}: weights folder {folder} does not exist ({DOCS_HINT})")
    if not index.is_file():
        raise BackendUnavailable(
            f"{backend}: {folder} has no model_index.json; it must be a diffusers-format folder ({DOCS_HINT})"
        )
    try:
        class_name = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (OSError, ValueError, AttributeError) as exc:
        raise BackendUnavailable(f"{backend}: cannot read {index}: {exc}") from None
    if class_name not in pipeline_classes:
        raise BackendUnavailable(
            f"{backend}: {folder} holds a {class_name} pipeline; this backend loads "
            f"{' or '.join(pipeline_classes)} ({DOCS_HINT})"
        )
    return folder


def resolve_device(torch: Any, option: str | None) -> str:
    """``auto`` (the default) is ``cuda`` when CUDA is available, else ``cpu``."""
    if option in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    assert option is not None
    if option.startswith("cuda") and not torch.cuda.is_available():
        raise BackendUnavailable(f"device {option!r} asked for, but CUDA is not available here")
    return option


def resolve_dtype(torch: Any, option: str | None, device: str) -> Any:
    """``auto`` (the default) is bfloat16 on CUDA and float32 on the CPU."""
    if option in (None, "auto"):
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, str(option))


LOAD_ERRORS = (OSError, ValueError, TypeError, KeyError, ImportError, RuntimeError)


def load_pipeline(
    backend: str, folder: Path, torch: Any, device: str, options: Mapping[str, Any], build: Callable[[], Any]
) -> Any:
    """``build()`` the pipeline and apply the options; any failure (missing files, a class mismatch,
    no memory for the weights) becomes BackendUnavailable, after freeing what was taken."""
    if not options.get("progress_bar", False):
        _quiet_loading()
    try:
        pipe = build()
        apply_runtime_options(pipe, options, device, torch)
        return pipe
    except BackendUnavailable:
        free_memory(torch)
        raise
    except LOAD_ERRORS as exc:
        message = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:500]
        exc.__traceback__ = None
    free_memory(torch)
    raise BackendUnavailable(f"{backend}: cannot load {folder}: {message}")


def _quiet_loading() -> None:
    """Turn off diffusers' and transformers' tqdm bars (process-wide): worker logs stay readable."""
    import_diffusers().utils.logging.disable_progress_bar()
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:
        return
    transformers_logging.disable_progress_bar()


def apply_runtime_options(pipe: Any, options: Mapping[str, Any], device: str, torch: Any) -> None:
    """Apply the speed and memory options to a freshly loaded pipeline, in a safe order:
    LoRA (fused, then unloaded), attention backend, compile of the repeated blocks (under the cache
    hooks), VACE hints folded into the blocks, cache hooks, placement (offload or ``.to(device)``),
    FP8, VAE tiling, whole-model compile. Compilation is lazy: it traces at the first call, after FP8."""
    transformers = [
        m for m in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None)) if m
    ]
    if not options.get("progress_bar", False):
        pipe.set_progress_bar_config(disable=True)
    if "lora" in options:
        fuse_loras(pipe, options)
    if "attention" in options:
        for model in transformers:
            try:
                model.set_attention_backend(options["attention"])
            except (ImportError, ValueError, RuntimeError) as exc:
                raise BackendUnavailable(f"attention backend {options['attention']!r}: {exc}") from None
    cache = dict(options.get("cache", {}))
    compile_mode = options.get("compile", "none")
    compile_backend = options.get("compile_backend", "inductor")
    if compile_mode == "blocks":
        for model in transformers:
            compile_blocks(model, torch, fullgraph=cache.get("type") != "taylorseer", backend=compile_backend)
    if cache:
        for model in transformers:
            if has_vace_hints(model):
                fold_vace_hints(model, torch)
        config_class = getattr(import_diffusers(), CACHE_TYPES[cache.pop("type")])
        try:
            config = config_class(**cache)
        except TypeError as exc:
            raise BackendUnavailable(f"cache: {exc}") from None
        for model in transformers:
            model.enable_cache(config)
    offload = options.get("offload", "none")
    if offload != "none" and not device.startswith("cuda"):
        raise BackendUnavailable(f"offload={offload!r} needs a CUDA device, not {device!r}")
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    elif offload == "group":
        pipe.enable_group_offload(
            onload_device=torch.device(device),
            offload_device=torch.device("cpu"),
            offload_type="block_level",
            num_blocks_per_group=1,
            use_stream=True,
        )
    else:
        pipe.to(device)
    if options.get("fp8"):
        _quantize_fp8(transformers, device)
    if options.get("vae_tiling"):
        vae = getattr(pipe, "vae", None)
        if vae is None or not hasattr(vae, "enable_tiling"):
            raise BackendUnavailable("vae_tiling: this pipeline's VAE has no tiled decoding")
        vae.enable_tiling()
    if compile_mode == "full":
        for model in transformers:
            model.compile(fullgraph=True, backend=compile_backend)


def compile_blocks(model: Any, torch: Any, *, fullgraph: bool, backend: str = "inductor") -> None:
    """Regional compilation: ``torch.compile`` each repeated block's own ``forward`` (the classes in
    the model's ``_repeated_blocks``), so that hooks applied afterwards (caches, offload) wrap the
    compiled code instead of being traced by it. diffusers' ``compile_repeated_blocks`` compiles the
    module's whole call, hooks included, and dynamo refuses the hooks under ``fullgraph=True``
    ("Unsupported hasattr call"). TaylorSeer hooks sit inside the blocks (on their attention
    modules): then ``fullgraph`` must be off, and the graph breaks at each hooked module."""
    names = set(getattr(model, "_repeated_blocks", None) or ())
    blocks = [m for m in model.modules() if type(m).__name__ in names]
    if not blocks:
        raise BackendUnavailable(f"compile: {type(model).__name__} names no repeated blocks; use 'full'")
    for block in blocks:
        block.forward = torch.compile(block.forward, fullgraph=fullgraph, backend=backend)


def fuse_loras(pipe: Any, options: Mapping[str, Any]) -> None:
    """Load the LoRA(s), fuse them into every transformer, then unload the PEFT layers.

    ``lora`` goes into ``transformer``, and into ``transformer_2`` too (Wan2.2's low-noise expert)
    unless ``lora_2`` names that expert's own file. Fusing alone leaves the PEFT wrappers in place
    (they would run, and FP8 would quantize them); ``unload_lora_weights()`` after ``fuse_lora``
    removes them and keeps the fused weights."""
    files = {"lora": _lora_path(options["lora"])}
    if "lora_2" in options:
        files["lora_2"] = _lora_path(options["lora_2"])
    has_second = getattr(pipe, "transformer_2", None) is not None
    components = ["transformer", "transformer_2"] if has_second else ["transformer"]
    try:
        pipe.load_lora_weights(str(files["lora"]), adapter_name="fast", local_files_only=True)
        if has_second:
            second = files.get("lora_2", files["lora"])
            pipe.load_lora_weights(
                str(second), adapter_name="fast_2", load_into_transformer_2=True, local_files_only=True
            )
        pipe.fuse_lora(components=components, lora_scale=options.get("lora_scale", 1.0))
        pipe.unload_lora_weights()
    except (ImportError, ValueError, OSError, KeyError) as exc:
        raise BackendUnavailable(f"cannot load LoRA {files['lora']}: {exc}") from None


def _lora_path(option: str) -> Path:
    path = Path(option).expanduser()
    if not path.exists():
        raise BackendUnavailable(f"LoRA file {path} does not exist")
    return path


def fp8_available(torch: Any, device_option: str | None) -> bool:
    """Whether FP8 can be used here: a CUDA device of compute capability 8.9+ and torchao installed."""
    if device_option not in (None, "auto") and not str(device_option).startswith("cuda"):
        return False
    if not torch.cuda.is_available():
        return False
    index = torch.device(device_option).index if str(device_option).startswith("cuda:") else None
    if tuple(torch.cuda.get_device_capability(index)) < (8, 9):
        return False
    try:
        import torchao  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def _quantize_fp8(models: Sequence[Any], device: str) -> None:
    """FP8 dynamic activation + weight quantization of the transformers with torchao (CUDA, SM ≥ 8.9)."""
    if not device.startswith("cuda"):
        raise BackendUnavailable("fp8 needs a CUDA device (compute capability 8.9 or newer)")
    try:
        from torchao.quantization import (  # type: ignore[import-not-found,unused-ignore]
            Float8DynamicActivationFloat8WeightConfig,
            quantize_,
        )
    except ImportError as exc:
        raise BackendUnavailable(f"fp8 needs torchao: pip install torchao ({exc})") from None
    for model in models:
        quantize_(model, Float8DynamicActivationFloat8WeightConfig())


def free_memory(torch: Any | None = None) -> None:
    """Collect garbage and give cached CUDA blocks back to the driver."""
    gc.collect()
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
