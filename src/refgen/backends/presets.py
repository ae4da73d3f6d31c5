"""Named presets: a backend, where its weights come from, and the options that make it run well.

A preset replaces a hand-written model-map entry. ``refgen models list`` shows them, ``refgen models
pull NAME`` downloads their weights into the models folder (``REFGEN_MODELS_DIR``, default
``<data dir>/models``), and the model map takes a preset name where it takes a backend entry::

    {"viduq1": "wan-vace-14b-fast", "viduq2": {"preset": "flux2-klein-4b", "options": {"steps": 6}}}

Each preset downloads one or more :class:`HubSource` s, each into its own folder of the models
folder; the first is the pipeline folder the backend loads (its ``weights``). Presets that share a
pipeline folder (``wan-vace-14b`` and ``wan-vace-14b-fast``) share one download.

Sizes and memory are estimates from the published parameter counts (bf16 = 2 bytes a parameter),
not measurements: ``refgen models pull NAME --dry-run`` prints the exact download size, and
``bench/gpu.py`` / ``bench/gpu_device.sh`` measure peak memory on a card.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODELS_DIR_TOKEN = "{models_dir}"  # in a preset's option values: the models folder


@dataclass(frozen=True)
class HubSource:
    """One hub repository (or some files of it) downloaded into ``<models dir>/<folder>``."""

    repo: str
    folder: str
    revision: str = "main"
    allow_patterns: tuple[str, ...] | None = None  # None: every file of the repository
    licence: str = ""


@dataclass(frozen=True)
class Preset:
    name: str
    backend: str
    summary: str
    sources: tuple[HubSource, ...]
    disk_gb: float  # the download, approximately (decimal GB)
    gpu_gb: float  # peak GPU memory at the preset's default size, everything on the GPU (estimate)
    gpu_note: str  # what the figure is made of, and how to need less
    options: Mapping[str, Any] = field(default_factory=dict)
    gated: bool = False  # the hub asks to accept the licence and a token (HF_TOKEN) to download

    @property
    def licence(self) -> str:
        licences = dict.fromkeys(s.licence for s in self.sources if s.licence)
        return " + ".join(licences)

    @property
    def weights_folder(self) -> str:
        """The folder (inside the models folder) the backend loads the pipeline from."""
        return self.sources[0].folder

    def weights(self, models_dir: Path) -> Path:
        return models_dir / self.weights_folder

    def resolved_options(self, models_dir: Path) -> dict[str, Any]:
        """The preset's backend options, with ``{models_dir}`` replaced by the models folder."""
        return {
            key: value.replace(MODELS_DIR_TOKEN, str(models_dir)) if isinstance(value, str) else value
            for key, value in self.options.items()
        }


WAN_VACE_14B = HubSource(
    "Wan-AI/Wan2.1-VACE-14B-diffusers", "Wan2.1-VACE-14B-diffusers", licence="Apache-2.0"
)
WAN_VACE_1_3B = HubSource(
    "Wan-AI/Wan2.1-VACE-1.3B-diffusers", "Wan2.1-VACE-1.3B-diffusers", licence="Apache-2.0"
)
# lightx2v's 4-step, CFG-distilled LoRA for the Wan2.1-T2V-14B transformer, which VACE-14B is built on
LIGHTX2V_LORA_FILE = "Wan21_T2V_14B_lightx2v_cfg_step_distill_lora_rank64.safetensors"  # ~631 MB
LIGHTX2V_LORA = HubSource(
    "lightx2v/Wan2.1-T2V-14B-StepDistill-CfgDistill-Lightx2v",
    "lightx2v-Wan2.1-T2V-14B-StepDistill",
    allow_patterns=(f"loras/{LIGHTX2V_LORA_FILE}", "README.md"),
    licence="Apache-2.0",
)
FLUX2_KLEIN_4B = HubSource("black-forest-labs/FLUX.2-klein-4B", "FLUX.2-klein-4B", licence="Apache-2.0")
FLUX2_KLEIN_9B = HubSource(
    "black-forest-labs/FLUX.2-klein-9B", "FLUX.2-klein-9B", licence="FLUX Non-Commercial License"
)

# Memory arithmetic (bf16, parameters counted from the published configs in bench/configs): the
# VACE-14B transformer has 17.3 B parameters (40 blocks 5120 wide plus 8 VACE blocks) = 34.7 GB
# (32 GiB); UMT5-XXL 5.7 B = 11.4 GB; klein-4B's transformer 3.9 B = 7.8 GB, its Qwen3-4B 4.0 B = 8 GB.
PRESETS: Mapping[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "wan-vace-14b",
            "wan-vace",
            "Wan2.1 VACE 14B: quality video, 480p and 720p, the official recipe",
            (WAN_VACE_14B,),
            disk_gb=75.0,
            gpu_gb=52.0,
            gpu_note="transformer 34.7 + UMT5 11.4 + VAE and activations; ~62 GB at 720p; "
            "offload 'model': ~38 GB (the transformer alone)",
        ),
        Preset(
            "wan-vace-14b-fast",
            "wan-vace",
            "Wan2.1 VACE 14B, fast tier: lightx2v 4-step distillation LoRA, no CFG, FP8, compiled blocks",
            (WAN_VACE_14B, LIGHTX2V_LORA),
            disk_gb=75.7,
            gpu_gb=38.0,
            gpu_note="FP8 transformer 17 + UMT5 11.4 + VAE and activations; needs compute capability 8.9+ "
            "(H100, L40S, RTX 4090) and torchao; ~48 GB at 720p",
            options={
                # the backend's fast tier: 4 steps, guidance 1, its shift, compiled blocks, FP8 where
                # the card has it (wan_vace.FAST_TIER)
                "speed": "fast",
                "lora": f"{MODELS_DIR_TOKEN}/{LIGHTX2V_LORA.folder}/loras/{LIGHTX2V_LORA_FILE}",
            },
        ),
        Preset(
            "wan-vace-1.3b",
            "wan-vace",
            "Wan2.1 VACE 1.3B: small tier, 480p only (upscaled above)",
            (WAN_VACE_1_3B,),
            disk_gb=20.0,
            gpu_gb=17.0,
            gpu_note="UMT5 11.4 + transformer 3.1 + VAE and activations; never below ~11.4 GB with "
            "the text encoder on the GPU; offload 'sequential' for smaller cards",
        ),
        Preset(
            "flux2-klein-4b",
            "flux2-klein",
            "FLUX.2 [klein] 4B: images from 0-4+ references, 4 distilled steps, native up to 2048 px",
            (FLUX2_KLEIN_4B,),
            disk_gb=16.0,
            gpu_gb=20.0,
            gpu_note="transformer 7.8 + Qwen3-4B text encoder 8 + VAE and activations at up to 2048 px "
            "(the default native cap); ~17 GB at 1 MP; offload 'model': ~10 GB",
        ),
        Preset(
            "flux2-klein-9b",
            "flux2-klein",
            "FLUX.2 [klein] 9B: sharper images, same pipeline (non-commercial licence, gated)",
            (FLUX2_KLEIN_9B,),
            disk_gb=35.0,
            gpu_gb=38.0,
            gpu_note="transformer 18 + Qwen3-8B text encoder 16 + VAE and activations at up to 2048 px; "
            "offload 'model': ~20 GB",
            gated=True,
        ),
    )
}


class UnknownPreset(KeyError):
    """No preset has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no preset named {self.name!r} (known: {', '.join(PRESETS)})"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPreset(name) from None
