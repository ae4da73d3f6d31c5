"""The ``wan-vace`` backend: reference-to-video with ``diffusers.WanVACEPipeline``.

Serves Wan2.1-VACE-14B (quality) and Wan2.1-VACE-1.3B (small tier), and any other
``WanVACEPipeline`` folder, loaded once with ``from_pretrained(weights, local_files_only=True)``
(the VAE in float32, the rest in ``dtype``). How the contract maps onto the model:

- **Size.** The model generates at a native size with the job's aspect ratio and the area of its
  tier (``480p``: 832×480 px, ``720p``: 1280×720 px), both sides multiples of 16; the 720p tier is
  used when the output's short side is ≥ 720 and the model is 14B-class (the 1.3B is 480p only).
  Each frame is then scaled to cover the contract's size and centre-cropped (never stretched):
  1080p is upscaled 1.5× from 720p, 360p downscaled from 480p. ``height``/``width`` force a
  native size; ``native`` forces a tier.
- **Duration and fps.** ``duration`` s at the model's 16 fps is ``16·duration + 1`` native frames,
  capped at ``max_frames`` (default 81, what Wan was trained on; longer durations then cover the
  same span with fewer frames). The clip is re-timed to exactly ``duration × 24`` output frames,
  first and last frames aligned, by cross-fading neighbours (``retime: blend``) or repeating the
  nearest (``retime: nearest``). ``num_frames`` forces the native count.
- **Seed.** A CPU ``torch.Generator`` seeded with the job's seed: same seed, inputs, weights and
  options → same video on the same hardware.
- **movement_amplitude.** ``auto`` changes nothing. ``small``/``medium``/``large`` put a short
  sentence before the prompt (:data:`AMPLITUDE_PROMPTS`, first so that prompt truncation at
  ``max_sequence_length`` tokens never drops it) and adjust the negative prompt
  (:func:`negative_prompt_for`); guidance is unchanged. Ignored for ``viduq2``, as the contract says.
- **References.** Each reference (alpha composited onto white) is one ``reference_images`` entry;
  the pipeline letterboxes it onto a white canvas at the native size. The model is comfortable
  with about 4 (``max_references``), and diffusers 0.42 cannot take more references than latent
  frames (``(frames - 1) / 4 + 1``): beyond that, the later references are tiled in pairs (or
  more) onto collage frames of the native size, the first ones staying alone; none is dropped.
- **bgm** is the seeded synthesizer of :mod:`refgen.media.music`; **prompt** is passed as is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from refgen.backends.diffusers_base import DiffusersBackend, PipelineRunner
from refgen.backends.diffusers_options import choice_option, float_option, int_option, text_option
from refgen.backends.diffusers_running import (
    SAMPLE_RATE,
    StepControl,
    generator_for,
    music_for,
    run_translating_oom,
)
from refgen.contract.catalogue import lookup
from refgen.domain import TaskKind
from refgen.errors import BackendError, GenerationCancelled
from refgen.generation import CancelToken, Frame, GenerationJob, ProgressFn, VideoOutput
from refgen.media.collage import prepare_references
from refgen.media.frames import RETIME_MODES, cover_resize, native_size, retime, round_to, to_uint8

MODEL_FPS = 16
TEMPORAL = 4  # the Wan VAE's temporal compression: frame counts are 4k + 1
DEFAULT_STEPS = 30
DEFAULT_GUIDANCE = 5.0
DEFAULT_MAX_FRAMES = 81
DEFAULT_MAX_REFERENCES = 4
TIERS = {"480p": 832 * 480, "720p": 1280 * 720}
FLOW_SHIFT = {"480p": 3.0, "720p": 5.0}
LARGE_MODEL_WIDTH = 5120  # transformer inner dim of the 14B (the 1.3B has 1536)
CANCEL_EVERY = 12  # output frames between cancel checks while frames are streamed

AMPLITUDE_PROMPTS = {
    "small": "Calm, subtle movement with a slow, steady camera.",
    "medium": "Natural, moderate movement.",
    "large": "Dynamic scene with large, energetic movement and an active camera.",
}
NEGATIVE_BASE = (
    "bright tones, overexposed, blurred details, subtitles, style, works, paintings, images, overall gray, "
    "worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly drawn "
    "hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, messy background, "
    "three legs, many people in the background, walking backwards"
)
NEGATIVE_BY_AMPLITUDE = {
    "auto": "static, still picture",
    "medium": "static, still picture",
    "small": "fast motion, sudden movements, shaky camera",
    "large": "static, still picture, frozen, slow motion",
}

WAN_OPTIONS = {
    "native": choice_option("auto", "480p", "720p"),
    "num_frames": int_option(1),
    "max_frames": int_option(1),
    "retime": choice_option(*RETIME_MODES),
    "flow_shift": float_option(0.0),
    "negative_prompt": text_option,
    "conditioning_scale": float_option(0.0),
}


def negative_prompt_for(amplitude: str, base: str = NEGATIVE_BASE) -> str:
    return f"{base}, {NEGATIVE_BY_AMPLITUDE.get(amplitude, NEGATIVE_BY_AMPLITUDE['auto'])}"


def effective_amplitude(job: GenerationJob) -> str:
    """The job's amplitude, or ``auto`` for models whose contract ignores it (``viduq2``)."""
    options = lookup(TaskKind.VIDEO, job.model)
    if options is not None and options.amplitude_ignored:
        return "auto"
    return job.movement_amplitude if job.movement_amplitude in AMPLITUDE_PROMPTS else "auto"


def frame_count_for(duration: int, max_frames: int = DEFAULT_MAX_FRAMES) -> int:
    """Native frames for ``duration`` seconds at 16 fps, as 4k + 1, at most ``max_frames``."""
    wanted = MODEL_FPS * max(1, duration) + 1
    return snap_frames(min(wanted, max_frames))


def snap_frames(count: int) -> int:
    """The largest 4k + 1 ≤ ``count`` (at least 1)."""
    return max(1, (max(1, count) - 1) // TEMPORAL * TEMPORAL + 1)


@dataclass(frozen=True)
class VideoPlan:
    """How one job is run on the model."""

    width: int
    height: int
    num_frames: int
    steps: int
    guidance: float
    prompt: str
    negative_prompt: str
    reference_slots: int
    tier: str
    flow_shift: float


def plan_video(
    job: GenerationJob, options: Mapping[str, Any], *, multiple: int = 16, large_model: bool = True
) -> VideoPlan:
    """Map a job onto the model's native size, frame count, steps, prompts (see the module doc)."""
    tier = options.get("native", "auto")
    if tier == "auto":
        tier = "720p" if large_model and min(job.width, job.height) >= 720 else "480p"
    width, height = native_size(job.width, job.height, TIERS[tier], multiple)
    width = round_to(options["width"], multiple) if "width" in options else width
    height = round_to(options["height"], multiple) if "height" in options else height
    if "num_frames" in options:
        frames = snap_frames(options["num_frames"])
    else:
        frames = frame_count_for(job.duration, options.get("max_frames", DEFAULT_MAX_FRAMES))
    latent_frames = (frames - 1) // TEMPORAL + 1
    amplitude = effective_amplitude(job)
    prompt = job.prompt if amplitude == "auto" else f"{AMPLITUDE_PROMPTS[amplitude]} {job.prompt}"
    return VideoPlan(
        width=width,
        height=height,
        num_frames=frames,
        steps=options.get("steps", DEFAULT_STEPS),
        guidance=options.get("guidance", DEFAULT_GUIDANCE),
        prompt=prompt,
        negative_prompt=negative_prompt_for(amplitude, options.get("negative_prompt", NEGATIVE_BASE)),
        reference_slots=max(1, min(options.get("max_references", DEFAULT_MAX_REFERENCES), latent_frames)),
        tier=tier,
        flow_shift=options.get("flow_shift", FLOW_SHIFT[tier]),
    )


class WanVaceBackend(DiffusersBackend):
    """Reference-to-video on a local ``WanVACEPipeline`` folder; see the module docstring."""

    name = "wan-vace"
    pipeline_classes = ("WanVACEPipeline",)
    option_parsers = WAN_OPTIONS
    kind = TaskKind.VIDEO

    def __init__(
        self, weights: str, options: Mapping[str, Any] | None = None, *, runner: PipelineRunner | None = None
    ) -> None:
        super().__init__(weights, options, runner=runner)
        self._schedulers: dict[float, Any] = {}

    def _build(self, diffusers: Any, torch: Any, folder: Path, dtype: Any) -> Any:
        vae = diffusers.AutoencoderKLWan.from_pretrained(
            folder, subfolder="vae", dtype=torch.float32, local_files_only=True
        )  # Wan's VAE stays in fp32
        return diffusers.WanVACEPipeline.from_pretrained(folder, vae=vae, dtype=dtype, local_files_only=True)

    def close(self) -> None:
        self._schedulers.clear()
        super().close()

    # ------------------------------------------------------------ generation

    def plan(self, job: GenerationJob) -> VideoPlan:
        pipe = self._require().pipe
        transformer = pipe.transformer if pipe.transformer is not None else pipe.transformer_2
        config = transformer.config
        multiple = int(pipe.vae_scale_factor_spatial) * int(config.patch_size[1])
        large = int(config.num_attention_heads) * int(config.attention_head_dim) >= LARGE_MODEL_WIDTH
        return plan_video(job, self.options, multiple=multiple, large_model=large)

    def generate(self, job: GenerationJob, progress: ProgressFn, cancel: CancelToken) -> VideoOutput:
        if job.kind is not TaskKind.VIDEO:
            raise BackendError(f"{self.name} makes videos only")
        loaded = self._require()
        plan = self.plan(job)
        control = StepControl(plan.steps, progress, cancel)
        control.start()
        references, _ = prepare_references(job.references, plan.reference_slots, (plan.width, plan.height))
        kwargs: dict[str, Any] = {
            "prompt": plan.prompt,
            "negative_prompt": plan.negative_prompt,
            "reference_images": references or None,
            "height": plan.height,
            "width": plan.width,
            "num_frames": plan.num_frames,
            "num_inference_steps": plan.steps,
            "guidance_scale": plan.guidance,
            "generator": generator_for(loaded.torch, job.seed),
            "output_type": "np",
            "callback_on_step_end": control,
        }
        if "conditioning_scale" in self.options:
            kwargs["conditioning_scale"] = self.options["conditioning_scale"]
        if "max_sequence_length" in self.options:
            kwargs["max_sequence_length"] = self.options["max_sequence_length"]
        with self._lock:
            self._use_flow_shift(loaded.pipe, plan.flow_shift)
            output = run_translating_oom(
                loaded.torch,
                lambda: self.runner(loaded.pipe, kwargs),
                hint="try a smaller native size, offload, or fp8 (docs/gpu-backends.md)",
            )
        control.finish()
        native = to_uint8(np.asarray(output.frames[0]))
        del output
        return VideoOutput(
            frames=_stream(native, job, self.options.get("retime", "blend"), cancel),
            frame_count=job.frame_count,
            fps=job.fps,
            audio=music_for(job),
            sample_rate=SAMPLE_RATE,
        )

    # ------------------------------------------------------------ helpers

    def _use_flow_shift(self, pipe: Any, shift: float) -> None:
        """Wan's recommended flow shift depends on the resolution: swap schedulers when it changes."""
        config = pipe.scheduler.config
        if "flow_shift" not in config or float(config["flow_shift"]) == shift:
            return
        if shift not in self._schedulers:
            self._schedulers[shift] = type(pipe.scheduler).from_config(config, flow_shift=shift)
        pipe.scheduler = self._schedulers[shift]


def _stream(
    native: npt.NDArray[np.uint8], job: GenerationJob, mode: str, cancel: CancelToken
) -> Iterator[Frame]:
    """The native clip re-timed to the job's frame count, each frame scaled to the job's size."""
    for i, frame in enumerate(retime(native, job.frame_count, mode)):
        if i % CANCEL_EVERY == 0 and cancel.is_cancelled():
            raise GenerationCancelled()
        yield cover_resize(frame, job.width, job.height)
