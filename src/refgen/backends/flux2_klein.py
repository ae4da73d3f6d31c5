"""The ``flux2-klein`` backend: reference-to-image with ``diffusers.Flux2KleinPipeline``.

Serves FLUX.2 [klein] 4B (Apache-2.0, step-distilled: 4 steps, no guidance) and its undistilled
``base`` variant, from a local diffusers folder loaded once with
``from_pretrained(weights, local_files_only=True)``. How the contract maps onto the model:

- **Size.** The model generates natively at the output's size when it can: at most ``max_side``
  pixels on the long side (default 2048, the largest size FLUX.2 [klein] is served at: BFL's and
  hosts' "2K" tier caps the long side at 2048 px) and ``max_pixels`` in all (default 2048² ≈ 4.2 MP,
  FLUX.2's stated ceiling), both sides multiples of 16. Only what is beyond that is upscaled, with
  Lanczos, to cover the contract's size, then centre-cropped (never stretched): 1080p (1920×1080)
  is generated at 1920×1088 and cropped, not upscaled; 2K 16:9 (2560×1440) at 2048×1152 and
  upscaled 1.25×; 4K 16:9 at 2048×1152, upscaled 1.875×. ``max_pixels: 1048576`` restores the
  faster 1 MP generation. ``height``/``width`` force the native size.
- **References.** 0 (text to image), 1 or many, passed as ``image=[...]`` (alpha composited onto
  white), each scaled to at most ``reference_pixels`` (default 1 MP, the pipeline's own cap) and at
  least 64 px a side (the pipeline's minimum). Beyond ``max_references`` (default 4) the later ones
  are tiled together onto collage images; none is dropped.
- **Steps and guidance.** Distilled weights (``is_distilled`` in ``model_index.json``, or the
  ``distilled`` option): 4 steps, guidance 1 (ignored by the model); base weights: 50 steps,
  guidance 4. ``steps``/``guidance`` override.
- **Seed.** A CPU ``torch.Generator`` seeded with the job's seed.
- **prompt** is passed as is (truncated at ``max_sequence_length`` tokens, 512 by default).
- ``duration``, ``movement_amplitude`` and ``bgm`` do not apply to images.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from refgen.backends.diffusers_base import DiffusersBackend, PipelineRunner
from refgen.backends.diffusers_options import OptionError, bool_option, int_list_option, int_option
from refgen.backends.diffusers_running import StepControl, generator_for, run_translating_oom
from refgen.domain import TaskKind
from refgen.errors import BackendError
from refgen.generation import CancelToken, GenerationJob, ImageOutput, ProgressFn
from refgen.media.collage import fit_pixels, prepare_references
from refgen.media.frames import cover_resize, native_size, round_to, to_uint8

DEFAULT_MAX_PIXELS = 2048 * 2048  # FLUX.2's stated ceiling, ~4 MP
DEFAULT_MAX_SIDE = 2048  # the long side klein is served at in its 2K tier
DEFAULT_REFERENCE_PIXELS = 1024 * 1024  # the pipeline's own cap per reference
MIN_REFERENCE_SIDE = 64  # Flux2ImageProcessor refuses smaller conditioning images
DEFAULT_MAX_REFERENCES = 4
DISTILLED = (4, 1.0)  # steps, guidance
BASE = (50, 4.0)

FLUX_OPTIONS = {
    "max_pixels": int_option(64 * 64),
    "max_side": int_option(16),
    "reference_pixels": int_option(64 * 64),
    "text_encoder_out_layers": int_list_option,
    "distilled": bool_option,
}


@dataclass(frozen=True)
class ImagePlan:
    width: int
    height: int
    steps: int
    guidance: float
    reference_slots: int
    reference_pixels: int
    collage_size: tuple[int, int]


def plan_image(
    job: GenerationJob, options: Mapping[str, Any], *, multiple: int = 16, distilled: bool = True
) -> ImagePlan:
    max_pixels = options.get("max_pixels", DEFAULT_MAX_PIXELS)
    width, height = native_size(job.width, job.height, max_pixels, multiple, at_most_output=True)
    width, height = within_side(width, height, options.get("max_side", DEFAULT_MAX_SIDE), multiple)
    steps, guidance = DISTILLED if distilled else BASE
    reference_pixels = options.get("reference_pixels", DEFAULT_REFERENCE_PIXELS)
    return ImagePlan(
        width=round_to(options["width"], multiple) if "width" in options else width,
        height=round_to(options["height"], multiple) if "height" in options else height,
        steps=options.get("steps", steps),
        guidance=options.get("guidance", guidance),
        reference_slots=options.get("max_references", DEFAULT_MAX_REFERENCES),
        reference_pixels=reference_pixels,
        collage_size=native_size(job.width, job.height, reference_pixels, multiple, at_most_output=True),
    )


def within_side(width: int, height: int, max_side: int, multiple: int) -> tuple[int, int]:
    """``width`` × ``height`` scaled down (aspect kept, multiples of ``multiple``) so that neither side
    exceeds ``max_side``; unchanged when it already fits."""
    if max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    long_side = max(multiple, max_side // multiple * multiple)
    short = round_to(min(width, height) * scale, multiple)
    return (long_side, short) if width >= height else (short, long_side)


class Flux2KleinBackend(DiffusersBackend):
    """Reference-to-image on a local ``Flux2KleinPipeline`` folder; see the module docstring."""

    name = "flux2-klein"
    pipeline_classes = ("Flux2KleinPipeline",)
    option_parsers = FLUX_OPTIONS
    kind = TaskKind.IMAGE

    def __init__(
        self, weights: str, options: Mapping[str, Any] | None = None, *, runner: PipelineRunner | None = None
    ) -> None:
        super().__init__(weights, options, runner=runner)
        if self.options.get("cache", {}).get("type") == "first_block":
            raise OptionError(
                f"{self.name}: diffusers 0.42's first-block cache fails on FLUX.2 transformers; "
                'use {"type": "taylorseer"} (little gain at 4 steps anyway)'
            )

    def _build(self, diffusers: Any, torch: Any, folder: Path, dtype: Any) -> Any:
        return diffusers.Flux2KleinPipeline.from_pretrained(folder, dtype=dtype, local_files_only=True)

    def plan(self, job: GenerationJob) -> ImagePlan:
        pipe = self._require().pipe
        multiple = int(pipe.vae_scale_factor) * 2
        distilled = self.options.get("distilled", bool(getattr(pipe.config, "is_distilled", False)))
        return plan_image(job, self.options, multiple=multiple, distilled=distilled)

    def generate(self, job: GenerationJob, progress: ProgressFn, cancel: CancelToken) -> ImageOutput:
        if job.kind is not TaskKind.IMAGE:
            raise BackendError(f"{self.name} makes images only")
        loaded = self._require()
        plan = self.plan(job)
        control = StepControl(plan.steps, progress, cancel)
        control.start()
        references, _ = prepare_references(
            job.references, plan.reference_slots, plan.collage_size, pixels=plan.reference_pixels
        )
        references = [fit_pixels(r, plan.reference_pixels, MIN_REFERENCE_SIDE) for r in references]
        kwargs: dict[str, Any] = {
            "image": references or None,
            "prompt": job.prompt,
            "height": plan.height,
            "width": plan.width,
            "num_inference_steps": plan.steps,
            "guidance_scale": plan.guidance,
            "generator": generator_for(loaded.torch, job.seed),
            "output_type": "np",
            "callback_on_step_end": control,
        }
        if "max_sequence_length" in self.options:
            kwargs["max_sequence_length"] = self.options["max_sequence_length"]
        if "text_encoder_out_layers" in self.options:
            kwargs["text_encoder_out_layers"] = self.options["text_encoder_out_layers"]
        with self._lock:
            output = run_translating_oom(
                loaded.torch,
                lambda: self.runner(loaded.pipe, kwargs),
                hint="try a smaller max_pixels, fewer references, offload or fp8 (docs/gpu-backends.md)",
            )
        control.finish()
        image = to_uint8(np.asarray(output.images[0]))
        del output
        return ImageOutput(image=cover_resize(image, job.width, job.height))
