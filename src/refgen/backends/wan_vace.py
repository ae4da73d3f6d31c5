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
- **Endpoints.** One backend serves every video endpoint (:func:`conditions_for`):
  reference2video gives ``reference_images``; img2video makes the picture frame 0 of ``video``
  (black mask: keep), start-end2video the first and last frames; text2video gives nothing.
- **Duration and fps.** ``duration`` s at the model's 16 fps is ``16·duration + 1`` native frames
  (8 s: 129), so motion keeps its speed. One run makes at most ``max_frames`` (81, VACE's trained
  length); a longer clip is continued in segments (:func:`segment_lengths`), each later run given
  the last ``overlap`` frames of the clip so far as known frames. The clip is re-timed to exactly
  ``duration × 24`` output frames (``retime: blend`` or ``nearest``). ``num_frames`` forces the count.
- **Recipe.** 50 steps, guidance 5, flow shift 16 (the official VACE recipe); ``speed: fast`` is
  the fast tier (:data:`FAST_TIER`, a distilled LoRA); Wan2.2's two experts get their own defaults.
- **Seed.** A CPU ``torch.Generator`` seeded with the job's seed: same seed, inputs, weights and
  options → same video on the same hardware.
- **movement_amplitude.** ``auto`` changes nothing. ``small``/``medium``/``large`` put a short
  sentence before the prompt (:data:`AMPLITUDE_PROMPTS`, first so that prompt truncation at
  ``max_sequence_length`` tokens never drops it) and adjust the negative prompt
  (:func:`negative_prompt_for`); guidance is unchanged. Ignored for ``viduq2``, as the contract says.
- **References.** Each subject cut out onto white (``cutout``, :mod:`refgen.media.on_white`), one
  image per subject in the subjects form, at most ``max_references`` (3, VACE's guide) images:
  beyond that the later ones are tiled together onto collages; none is dropped.
- **bgm** is the seeded synthesizer of :mod:`refgen.media.music`; **prompt** is passed as is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from refgen.backends.diffusers_base import DiffusersBackend, PipelineRunner
from refgen.backends.diffusers_loading import fp8_available, import_torch
from refgen.backends.diffusers_options import (
    OptionError,
    bool_option,
    choice_option,
    float_option,
    int_option,
    text_option,
)
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
from refgen.media.collage import collage, group_sizes, load_reference
from refgen.media.frames import RETIME_MODES, cover_resize, native_size, retime, round_to, to_uint8
from refgen.media.images import DecodeSize
from refgen.media.on_white import subject_on_white

MODEL_FPS = 16
TEMPORAL = 4  # the Wan VAE's temporal compression: frame counts are 4k + 1
# The official VACE recipe (Wan2.1 generate.py for the vace tasks, VACE vace_wan_inference.py,
# LightX2V configs/wan/wan_vace.json): 50 steps, guidance 5, flow shift 16 at 480p and 720p alike.
DEFAULT_STEPS = 50
DEFAULT_GUIDANCE = 5.0
DEFAULT_FLOW_SHIFT = 16.0
DEFAULT_MAX_FRAMES = 81  # the length VACE was trained on (5 s at 16 fps)
DEFAULT_OVERLAP = 17  # frames a continuation segment takes over from the one before (about 1 s)
DEFAULT_MAX_REFERENCES = 3  # VACE's guide: no more than three images for reference-anything
TIERS = {"480p": 832 * 480, "720p": 1280 * 720}
LARGE_MODEL_WIDTH = 5120  # transformer inner dim of the 14B (the 1.3B has 1536)
CANCEL_EVERY = 12  # output frames between cancel checks while frames are streamed
GREY = 128
WAN22_STEPS = 40
WAN22_GUIDANCE = (
    4.0,
    3.0,
)  # high-noise expert, low-noise expert  # VACE's value for the pixels of frames it is to generate

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
    "overlap": int_option(1),
    "cutout": bool_option,
    "guidance_2": float_option(0.0),
    "speed": choice_option("quality", "fast"),
}

# The fast tier: a few-step distilled LoRA (lightx2v's step- and CFG-distilled Wan2.1 14B LoRAs,
# loaded from a local file with ``load_lora_weights`` and fused), 4 steps at guidance 1 (no
# unconditional pass) with LightX2V's shift 5, the repeated blocks compiled, and FP8 weights where
# the card has FP8 (compute capability 8.9+, torchao installed). Options given explicitly win.
FAST_TIER: dict[str, Any] = {"steps": 4, "guidance": 1.0, "flow_shift": 5.0, "compile": "blocks"}


def negative_prompt_for(amplitude: str, base: str = NEGATIVE_BASE) -> str:
    return f"{base}, {NEGATIVE_BY_AMPLITUDE.get(amplitude, NEGATIVE_BY_AMPLITUDE['auto'])}"


def effective_amplitude(job: GenerationJob) -> str:
    """The job's amplitude, or ``auto`` for models whose contract ignores it (``viduq2``)."""
    options = lookup(TaskKind.VIDEO, job.model)
    if options is not None and options.amplitude_ignored:
        return "auto"
    return job.movement_amplitude if job.movement_amplitude in AMPLITUDE_PROMPTS else "auto"


def frame_count_for(duration: int) -> int:
    """Native frames for ``duration`` seconds at 16 fps: ``16 · duration + 1`` (a 4k + 1 count)."""
    return MODEL_FPS * max(1, duration) + 1


def snap_frames(count: int) -> int:
    """The largest 4k + 1 ≤ ``count`` (at least 1)."""
    return max(1, (max(1, count) - 1) // TEMPORAL * TEMPORAL + 1)


def segment_lengths(total: int, max_frames: int, overlap: int) -> tuple[int, ...]:
    """The segments that make a ``total``-frame clip (4k + 1) when one run makes at most
    ``max_frames``: the first as long as allowed, each later one taking over the last ``overlap``
    frames of the clip so far (as known frames) and adding at most ``max_frames - overlap`` new ones.
    Every length and the overlap are 4k + 1, so known and new frames fall on whole latent frames."""
    max_frames, overlap = snap_frames(max_frames), snap_frames(overlap)
    if overlap >= max_frames:
        overlap = snap_frames(max_frames // 2)
    lengths = [min(total, max_frames)]
    made = lengths[0]
    while made < total:
        new = min(max_frames - overlap, total - made)
        lengths.append(overlap + new)
        made += new
    return tuple(lengths)


@dataclass(frozen=True)
class VideoPlan:
    """How one job is run on the model."""

    width: int
    height: int
    num_frames: int  # of the whole native clip
    segments: tuple[int, ...]  # frames of each run; the later ones continue the clip so far
    overlap: int
    steps: int
    guidance: float
    prompt: str
    negative_prompt: str
    reference_slots: int
    tier: str
    flow_shift: float

    @property
    def total_steps(self) -> int:
        return self.steps * len(self.segments)


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
    frames = snap_frames(options["num_frames"]) if "num_frames" in options else frame_count_for(job.duration)
    max_frames = options.get("max_frames", DEFAULT_MAX_FRAMES)
    overlap = snap_frames(options.get("overlap", DEFAULT_OVERLAP))
    segments = segment_lengths(frames, max_frames, overlap)
    latent_frames = (segments[0] - 1) // TEMPORAL + 1
    amplitude = effective_amplitude(job)
    prompt = job.prompt if amplitude == "auto" else f"{AMPLITUDE_PROMPTS[amplitude]} {job.prompt}"
    return VideoPlan(
        width=width,
        height=height,
        num_frames=frames,
        segments=segments,
        overlap=overlap,
        steps=options.get("steps", DEFAULT_STEPS),
        guidance=options.get("guidance", DEFAULT_GUIDANCE),
        prompt=prompt,
        negative_prompt=negative_prompt_for(amplitude, options.get("negative_prompt", NEGATIVE_BASE)),
        reference_slots=max(1, min(options.get("max_references", DEFAULT_MAX_REFERENCES), latent_frames)),
        tier=tier,
        flow_shift=options.get("flow_shift", DEFAULT_FLOW_SHIFT),
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
        if self.options.get("speed") == "fast":
            if "lora" not in self.options:
                raise OptionError(
                    f"{self.name}: 'speed': 'fast' needs 'lora', the local file of a few-step distilled LoRA "
                    "(see docs/gpu-backends.md)"
                )
            self.options = {**FAST_TIER, **self.options}
        self._schedulers: dict[float, Any] = {}

    def load(self) -> None:
        if self.options.get("speed") == "fast" and "fp8" not in self.options:
            self.options["fp8"] = fp8_available(import_torch(), self.options.get("device"))
        super().load()

    def _build(self, diffusers: Any, torch: Any, folder: Path, dtype: Any) -> Any:
        vae = diffusers.AutoencoderKLWan.from_pretrained(
            folder, subfolder="vae", dtype=torch.float32, local_files_only=True
        )  # Wan's VAE stays in fp32
        return diffusers.WanVACEPipeline.from_pretrained(folder, vae=vae, dtype=dtype, local_files_only=True)

    def close(self) -> None:
        self._schedulers.clear()
        super().close()

    # ------------------------------------------------------------ generation

    def supports(self, kind: TaskKind) -> bool:
        return kind.makes_video  # one backend, every video endpoint (see the module docstring)

    def plan(self, job: GenerationJob) -> VideoPlan:
        pipe = self._require().pipe
        transformer = pipe.transformer if pipe.transformer is not None else pipe.transformer_2
        config = transformer.config
        multiple = int(pipe.vae_scale_factor_spatial) * int(config.patch_size[1])
        large = int(config.num_attention_heads) * int(config.attention_head_dim) >= LARGE_MODEL_WIDTH
        options = dict(self.options)
        if _two_experts(pipe):
            # Wan2.2 A14B recipe: 40 steps, guidance 4 (high noise) / 3 (low noise), its own shift
            options.setdefault("steps", WAN22_STEPS)
            options.setdefault("guidance", WAN22_GUIDANCE[0])
            options.setdefault(
                "flow_shift", float(pipe.scheduler.config.get("flow_shift") or DEFAULT_FLOW_SHIFT)
            )
        return plan_video(job, options, multiple=multiple, large_model=large)

    def generate(self, job: GenerationJob, progress: ProgressFn, cancel: CancelToken) -> VideoOutput:
        if not job.kind.makes_video:
            raise BackendError(f"{self.name} makes videos only")
        loaded = self._require()
        plan = self.plan(job)
        control = StepControl(plan.total_steps, progress, cancel)
        control.start()
        conditions = conditions_for(job, plan, cutout=self.options.get("cutout", True))
        kwargs: dict[str, Any] = {
            "prompt": plan.prompt,
            "negative_prompt": plan.negative_prompt,
            "reference_images": conditions.references or None,
            "height": plan.height,
            "width": plan.width,
            "num_inference_steps": plan.steps,
            "guidance_scale": plan.guidance,
            "output_type": "np",
            "callback_on_step_end": control,
        }
        for option, argument in (
            ("conditioning_scale", "conditioning_scale"),
            ("max_sequence_length", "max_sequence_length"),
        ):
            if option in self.options:
                kwargs[argument] = self.options[option]
        if _two_experts(loaded.pipe):
            kwargs["guidance_scale_2"] = self.options.get("guidance_2", WAN22_GUIDANCE[1])
        clip: list[Frame] = []
        with self._lock:
            self._use_flow_shift(loaded.pipe, plan.flow_shift)
            for k, length in enumerate(plan.segments):
                start = 0 if k == 0 else len(clip) - plan.overlap
                known = {i - start: clip[i] for i in range(start, len(clip))}
                known.update(
                    {i - start: f for i, f in conditions.keyframes.items() if start <= i < start + length}
                )
                control.offset = k * plan.steps
                segment = {
                    **kwargs,
                    "num_frames": length,
                    "generator": generator_for(loaded.torch, job.seed + k),
                }
                if known:
                    segment["video"], segment["mask"] = known_frames(known, length, plan.width, plan.height)
                output = run_translating_oom(
                    loaded.torch,
                    lambda segment=segment: self.runner(loaded.pipe, segment),  # type: ignore[misc]
                    hint="try a smaller native size, offload, or fp8 (docs/gpu-backends.md)",
                )
                frames = to_uint8(np.asarray(output.frames[0]))
                del output
                clip.extend(frames[len(clip) - start :])
        control.finish()
        native = np.stack(clip)
        return VideoOutput(
            frames=_stream(native, job, self.options.get("retime", "blend"), cancel),
            frame_count=job.frame_count,
            fps=job.fps,
            audio=music_for(job),
            sample_rate=SAMPLE_RATE,
        )

    # ------------------------------------------------------------ helpers

    def _use_flow_shift(self, pipe: Any, shift: float) -> None:
        """Swap in a scheduler with the plan's flow shift when it differs from the current one."""
        config = pipe.scheduler.config
        if "flow_shift" not in config or float(config["flow_shift"]) == shift:
            return
        if shift not in self._schedulers:
            self._schedulers[shift] = type(pipe.scheduler).from_config(config, flow_shift=shift)
        pipe.scheduler = self._schedulers[shift]


def _two_experts(pipe: Any) -> bool:
    """Wan2.2 A14B (and VACE-Fun A14B): a high-noise ``transformer`` and a low-noise ``transformer_2``."""
    return getattr(pipe, "transformer_2", None) is not None


@dataclass(frozen=True)
class Conditions:
    """What a job gives VACE: reference images (subjects on white) and known frames of the clip."""

    references: list[Image.Image]
    keyframes: dict[int, Frame]  # index in the whole native clip → RGB frame at the native size


def conditions_for(job: GenerationJob, plan: VideoPlan, *, cutout: bool = True) -> Conditions:
    """The job's pictures as VACE conditions, by endpoint:

    - reference2video: references (each subject cut out onto white, ``cutout``); in the subjects
      form one image per subject (its pictures tiled together); at most ``reference_slots``
      images, the later subjects or pictures tiled together beyond that;
    - img2video: the picture is frame 0; start-end2video: the first and the last frame;
    - text2video: nothing.
    """
    size = (plan.width, plan.height)
    if job.kind is TaskKind.IMAGE_TO_VIDEO:
        return Conditions([], {0: _frame(job.references[0], size)})
    if job.kind is TaskKind.START_END_TO_VIDEO:
        first, last = job.references[0], job.references[-1]
        return Conditions([], {0: _frame(first, size), plan.num_frames - 1: _frame(last, size)})
    if job.kind is TaskKind.TEXT_TO_VIDEO or not job.references:
        return Conditions([], {})
    load = subject_on_white if cutout else load_reference
    needed = DecodeSize(contain=size)  # a reference is never used larger than the frame

    def loader(path: Path) -> Image.Image:
        return load(path, needed)

    if job.subjects:
        images = [collage([loader(p) for p in s.references], *size) for s in job.subjects if s.references]
    else:
        images = [loader(p) for p in job.references]
    sizes = group_sizes(len(images), plan.reference_slots)
    grouped, at = [], 0
    for n in sizes:
        grouped.append(collage(images[at : at + n], *size))
        at += n
    return Conditions(grouped, {})


def _frame(path: Path, size: tuple[int, int]) -> Frame:
    """A picture as a frame of the native size (scaled to cover and centre-cropped)."""
    return cover_resize(np.asarray(load_reference(path, DecodeSize(cover=size))), *size)


def known_frames(
    known: Mapping[int, Frame], length: int, width: int, height: int
) -> tuple[list[Image.Image], list[Image.Image]]:
    """VACE's ``video`` and ``mask`` for a run of ``length`` frames: the known frames as they are
    under a black mask (keep), every other frame grey under a white mask (generate)."""
    grey = Image.new("RGB", (width, height), (GREY, GREY, GREY))
    keep, make = Image.new("L", (width, height), 0), Image.new("L", (width, height), 255)
    video = [Image.fromarray(known[i]) if i in known else grey for i in range(length)]
    mask = [keep if i in known else make for i in range(length)]
    return video, mask


def _stream(
    native: npt.NDArray[np.uint8], job: GenerationJob, mode: str, cancel: CancelToken
) -> Iterator[Frame]:
    """The native clip re-timed to the job's frame count, each frame scaled to the job's size."""
    for i, frame in enumerate(retime(native, job.frame_count, mode)):
        if i % CANCEL_EVERY == 0 and cancel.is_cancelled():
            raise GenerationCancelled()
        yield cover_resize(frame, job.width, job.height)
