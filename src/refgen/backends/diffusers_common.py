"""What the diffusers backends share: lazy imports, options, loading, the step callback, OOM, frames.

Torch and diffusers are imported only inside :func:`import_torch` / :func:`import_diffusers`, which
the backends call from ``load``; importing this module (or a backend module) needs neither, and a
missing ``gpu`` extra is reported as :class:`~refgen.errors.BackendUnavailable` naming the install
command.

**Options** (the model map's ``options`` object) are parsed once, when the backend is built: an
unknown name or a bad value raises :class:`OptionError` (a ``TypeError``, so the registry reports
it as a model-map error at start-up). Every diffusers backend understands :data:`COMMON_OPTIONS`;
each backend adds its own. See ``docs/gpu-backends.md`` for the full table.

**Cancel and progress.** :class:`StepControl` is passed as the pipeline's ``callback_on_step_end``.
After each denoising step it reports ``(step, total)`` and polls the cancel token; when the token
is set it sets ``pipe._interrupt = True``. Both ``WanVACEPipeline`` and ``Flux2KleinPipeline``
(diffusers 0.42) reset ``_interrupt`` at the start of ``__call__`` and ``continue`` past every
remaining step while ``self.interrupt`` is true, then decode what they have: the backend discards
that result and raises :class:`~refgen.errors.GenerationCancelled`.

**Out of memory.** :func:`run_translating_oom` turns ``torch.cuda.OutOfMemoryError`` (and the
``RuntimeError`` "out of memory" / "can't allocate memory" forms, and ``MemoryError``) into
:class:`~refgen.errors.OutOfMemory` *after* dropping the traceback, running ``gc.collect()`` and
``torch.cuda.empty_cache()``, so the worker that caught it has its memory back for the next task.

**Frames.** Models generate at a native size and frame rate; :func:`cover_resize` scales a frame
to cover the output size (aspect kept, never stretched) and crops the centre, and
:func:`retime` resamples a clip to exactly the output's frame count (see its docstring).
"""

from __future__ import annotations

import gc
import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from refgen.backends.base import CancelToken, Frame, GenerationJob, ProgressFn
from refgen.domain import TaskKind
from refgen.errors import BackendError, BackendUnavailable, GenerationCancelled, OutOfMemory
from refgen.media.images import load_rgba
from refgen.media.music import synthesize_music

INSTALL_HINT = "pip install 'refgen[gpu]'"
DOCS_HINT = "see docs/gpu-backends.md"
SAMPLE_RATE = 48_000

PipelineRunner = Callable[[Any, dict[str, Any]], Any]
"""Calls a loaded pipeline with keyword arguments and returns its output; a seam for tests."""


def call_pipeline(pipe: Any, kwargs: dict[str, Any]) -> Any:
    """The default :data:`PipelineRunner`: ``pipe(**kwargs)``."""
    return pipe(**kwargs)


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


# ---------------------------------------------------------------- options


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
    "height": int_option(8),
    "width": int_option(8),
    "cache": _cache,
    "fp8": bool_option,
    "attention": _attention,
    "lora": text_option,
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
    return parsed


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
    LoRA (fused), attention backend, cache hooks, placement (offload or ``.to(device)``), FP8,
    VAE tiling, compile."""
    transformers = [
        m for m in (getattr(pipe, "transformer", None), getattr(pipe, "transformer_2", None)) if m
    ]
    if not options.get("progress_bar", False):
        pipe.set_progress_bar_config(disable=True)
    if "lora" in options:
        lora = Path(options["lora"]).expanduser()
        if not lora.exists():
            raise BackendUnavailable(f"LoRA file {lora} does not exist")
        try:
            pipe.load_lora_weights(str(lora), local_files_only=True)
            pipe.fuse_lora(lora_scale=options.get("lora_scale", 1.0))
        except (ImportError, ValueError, OSError) as exc:
            raise BackendUnavailable(f"cannot load LoRA {lora}: {exc}") from None
    if "attention" in options:
        for model in transformers:
            try:
                model.set_attention_backend(options["attention"])
            except (ImportError, ValueError, RuntimeError) as exc:
                raise BackendUnavailable(f"attention backend {options['attention']!r}: {exc}") from None
    if "cache" in options:
        settings = dict(options["cache"])
        config_class = getattr(import_diffusers(), CACHE_TYPES[settings.pop("type")])
        try:
            config = config_class(**settings)
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
    compile_mode = options.get("compile", "none")
    for model in transformers:
        if compile_mode == "blocks":
            model.compile_repeated_blocks(fullgraph=True)
        elif compile_mode == "full":
            model.compile(fullgraph=True)


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


# ---------------------------------------------------------------- running


def is_out_of_memory(exc: BaseException, torch: Any | None = None) -> bool:
    if isinstance(exc, MemoryError):
        return True
    oom_type = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    if isinstance(oom_type, type) and isinstance(exc, oom_type):
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return "out of memory" in text or "can't allocate memory" in text
    return False


def run_translating_oom(torch: Any, call: Callable[[], Any], *, hint: str = "") -> Any:
    """``call()``; an out-of-memory error becomes OutOfMemory once the memory it held is freed."""
    failure = ""
    try:
        return call()
    except BaseException as exc:
        if not is_out_of_memory(exc, torch):
            raise
        failure = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        exc.__traceback__ = None  # the frames hold the tensors; drop them before freeing
    free_memory(torch)
    message = f"out of accelerator memory: {failure}"
    raise OutOfMemory(f"{message}; {hint}" if hint else message)


class StepControl:
    """A ``callback_on_step_end``: reports progress after each step and, when the cancel token is
    set, sets the pipeline's interrupt flag so the remaining steps are skipped.

    Progress is ``(step, steps + 1)``: the last unit is the decode and post-processing, reported
    with :meth:`done`.
    """

    def __init__(self, steps: int, progress: ProgressFn, cancel: CancelToken) -> None:
        self.steps = steps
        self.total = steps + 1
        self._progress = progress
        self._cancel = cancel
        self.interrupted = False
        self.calls = 0

    def start(self) -> None:
        if self._cancel.is_cancelled():
            raise GenerationCancelled()
        self._progress(0, self.total)

    def __call__(
        self, pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls += 1
        self._progress(min(step + 1, self.steps), self.total)
        if not self.interrupted and self._cancel.is_cancelled():
            pipe._interrupt = True
            self.interrupted = True
        return {}

    def finish(self) -> None:
        """After the pipeline returned: discard an interrupted result, else report completion."""
        if self.interrupted or self._cancel.is_cancelled():
            raise GenerationCancelled()
        self._progress(self.total, self.total)


def generator_for(torch: Any, seed: int) -> Any:
    """A CPU ``torch.Generator`` seeded with the job's seed: the same initial noise on any device."""
    return torch.Generator(device="cpu").manual_seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)


# ---------------------------------------------------------------- sizes


def round_to(value: float, multiple: int) -> int:
    return max(multiple, multiple * round(value / multiple))


def native_size(
    width: int, height: int, area: int, multiple: int, *, at_most_output: bool = False
) -> tuple[int, int]:
    """A ``(width, height)`` with the aspect ratio of ``width`` × ``height`` and about ``area`` pixels
    (or the output's own area, if smaller and ``at_most_output``), both sides a multiple of ``multiple``."""
    if at_most_output:
        area = min(area, width * height)
    ratio = width / height
    w = math.sqrt(area * ratio)
    return round_to(w, multiple), round_to(w / ratio, multiple)


# ---------------------------------------------------------------- frames


def to_uint8(pixels: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Float pixels in [0, 1] (any shape) to uint8."""
    return np.asarray(np.clip(np.asarray(pixels, np.float32) * 255.0 + 0.5, 0, 255), dtype=np.uint8)


def cover_resize(frame: Frame, width: int, height: int) -> Frame:
    """Scale ``frame`` (aspect kept) until it covers ``width`` × ``height``, then crop the centre.

    Never stretches: at most a thin band is cropped when the native aspect ratio differs from the
    output's. Downscaling uses area averaging, upscaling Lanczos.
    """
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    scale = max(width / w, height / h)
    sw, sh = max(width, math.ceil(w * scale - 1e-6)), max(height, math.ceil(h * scale - 1e-6))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LANCZOS4
    scaled = cv2.resize(frame, (sw, sh), interpolation=interp)
    x0, y0 = (sw - width) // 2, (sh - height) // 2
    return np.ascontiguousarray(scaled[y0 : y0 + height, x0 : x0 + width])


def retime_positions(source_count: int, count: int) -> npt.NDArray[np.float64]:
    """Source positions (fractional frame indices) for ``count`` output frames, first and last
    frames aligned with the source's first and last."""
    if count <= 0:
        return np.zeros(0, np.float64)
    if count == 1 or source_count <= 1:
        return np.zeros(count, np.float64)
    return np.linspace(0.0, source_count - 1, count)


RETIME_MODES = ("blend", "nearest")


def retime(frames: npt.NDArray[np.uint8], count: int, mode: str = "blend") -> Iterator[Frame]:
    """Yield exactly ``count`` frames resampled from ``frames`` (N, H, W, 3) in time.

    The clip's first and last frames are kept where they are and everything in between is spread
    evenly (16 fps → 24 fps is a factor of 1.5). ``blend`` cross-fades the two nearest source frames
    by the fractional position (smooth, slight ghosting on fast motion); ``nearest`` repeats the
    nearest source frame (sharp, with a 2:3-like cadence).
    """
    last = len(frames) - 1
    for p in retime_positions(len(frames), count):
        i = min(last, math.floor(p))
        a = p - i
        if mode == "nearest" or a < 1e-3 or i == last:
            yield frames[min(last, round(p))]
        elif a > 1 - 1e-3:
            yield frames[i + 1]
        else:
            mixed = cv2.addWeighted(frames[i], 1.0 - a, frames[i + 1], a, 0.0)
            yield np.asarray(mixed, dtype=np.uint8)


# ---------------------------------------------------------------- references


def load_reference(path: Path | str) -> Image.Image:
    """A reference as an RGB PIL image, any transparency composited onto white."""
    rgba = load_rgba(Path(path)).astype(np.float32)
    alpha = rgba[..., 3:4] / 255.0
    rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return Image.fromarray(np.asarray(np.clip(rgb + 0.5, 0, 255), dtype=np.uint8), "RGB")


def group_sizes(count: int, slots: int) -> list[int]:
    """Split ``count`` references, in order, into at most ``slots`` groups: as even as possible,
    the larger groups last, so the first references (usually the main subjects) stay alone."""
    if count <= slots:
        return [1] * count
    base, extra = divmod(count, slots)
    return [base] * (slots - extra) + [base + 1] * extra


def collage(images: Sequence[Image.Image], width: int, height: int, gap: float = 0.04) -> Image.Image:
    """Tile ``images`` on a white ``width`` × ``height`` canvas in the grid that shows them largest,
    each scaled to fit its cell (aspect kept), in reading order."""
    if len(images) == 1:
        return images[0]
    best: tuple[float, int, int] | None = None
    for cols in range(1, len(images) + 1):
        rows = math.ceil(len(images) / cols)
        cw, ch = width / cols, height / rows
        scale = min(min(cw / im.width, ch / im.height) for im in images)
        if best is None or scale > best[0]:
            best = (scale, cols, rows)
    assert best is not None
    _, cols, rows = best
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    cw, ch = width / cols, height / rows
    pad = gap * min(cw, ch) / 2
    for k, image in enumerate(images):
        r, c = divmod(k, cols)
        box_w, box_h = max(1.0, cw - 2 * pad), max(1.0, ch - 2 * pad)
        s = min(box_w / image.width, box_h / image.height)
        size = (max(1, round(image.width * s)), max(1, round(image.height * s)))
        tile = image.resize(size, Image.Resampling.LANCZOS)
        x = round(c * cw + (cw - size[0]) / 2)
        y = round(r * ch + (ch - size[1]) / 2)
        canvas.paste(tile, (x, y))
    return canvas


def fit_pixels(image: Image.Image, max_pixels: int, min_side: int = 1) -> Image.Image:
    """``image`` scaled down (aspect kept) to at most ``max_pixels`` pixels, but with both sides at
    least ``min_side`` (scaled up if need be)."""
    w, h = image.size
    scale = min(1.0, math.sqrt(max_pixels / (w * h)))
    scale = max(scale, min_side / min(w, h))
    if abs(scale - 1.0) < 1e-9:
        return image
    size = (max(min_side, round(w * scale)), max(min_side, round(h * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def prepare_references(
    paths: Sequence[Path], slots: int, canvas: tuple[int, int]
) -> tuple[list[Image.Image], list[int]]:
    """Load the references and fit them into at most ``slots`` images: with more references than
    slots, the later ones are tiled together (:func:`group_sizes`, :func:`collage`) on canvases of
    size ``canvas``. Never drops one. Returns the images and the group sizes."""
    images = [load_reference(p) for p in paths]
    sizes = group_sizes(len(images), max(1, slots))
    out: list[Image.Image] = []
    start = 0
    for size in sizes:
        out.append(collage(images[start : start + size], *canvas))
        start += size
    return out, sizes


# ---------------------------------------------------------------- audio


def music_for(job: GenerationJob) -> npt.NDArray[np.float32] | None:
    """The seeded background music (``bgm``) for a video job, or None."""
    if not job.bgm:
        return None
    return synthesize_music(job.frame_count * SAMPLE_RATE // job.fps, job.seed, SAMPLE_RATE)


@dataclass(frozen=True)
class Loaded:
    """A loaded pipeline with the torch module and where it runs."""

    pipe: Any
    torch: Any
    device: str
    dtype: Any


class DiffusersBackend:
    """What every diffusers backend shares: its options checked when built, one pipeline loaded once
    from a local folder, the :data:`PipelineRunner` seam, and memory given back on ``close``.

    A subclass names itself, its pipeline classes, its option parsers and its task kind, and builds
    the pipeline in :meth:`_build`; it adds planning and ``generate``.
    """

    name: ClassVar[str]
    pipeline_classes: ClassVar[tuple[str, ...]]
    option_parsers: ClassVar[Mapping[str, OptionParser]]
    kind: ClassVar[TaskKind]

    def __init__(
        self, weights: str, options: Mapping[str, Any] | None = None, *, runner: PipelineRunner | None = None
    ) -> None:
        self.weights = weights
        self.options = parse_options(self.name, options, self.option_parsers)
        self.runner: PipelineRunner = runner or call_pipeline
        self._loaded: Loaded | None = None
        self._lock = threading.Lock()

    def _build(self, diffusers: Any, torch: Any, folder: Path, dtype: Any) -> Any:
        """Make the pipeline from ``folder`` (``local_files_only``), before options are applied."""
        raise NotImplementedError

    def load(self) -> None:
        if self._loaded is not None:
            return
        torch = import_torch()
        diffusers = import_diffusers()
        folder = check_weights(self.weights, self.pipeline_classes, self.name)
        device = resolve_device(torch, self.options.get("device"))
        dtype = resolve_dtype(torch, self.options.get("dtype"), device)
        pipe = load_pipeline(
            self.name,
            folder,
            torch,
            device,
            self.options,
            lambda: self._build(diffusers, torch, folder, dtype),
        )
        self._loaded = Loaded(pipe=pipe, torch=torch, device=device, dtype=dtype)

    def supports(self, kind: TaskKind) -> bool:
        return kind is self.kind

    def close(self) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is not None:
            torch = loaded.torch
            del loaded
            free_memory(torch)

    @property
    def pipeline(self) -> Any:
        """The loaded pipeline (for benchmarks and tests)."""
        return self._require().pipe

    def _require(self) -> Loaded:
        if self._loaded is None:
            raise BackendError(f"{self.name} is not loaded")
        return self._loaded
