"""Time the full-size Wan2.1-VACE-14B and FLUX.2 [klein] 4B on one GPU with random weights, no downloads.

    python bench/gpu_device.py                 # on a CUDA GPU (run by bench/gpu_device.sh)
    python bench/gpu_device.py --tiny --device cpu   # the same code on the tiny test configs

Speed and memory of a diffusion transformer do not depend on its weights' values, so each pipeline
is built from its published configs (``bench/configs/*.json``: transformer, text encoder, VAE) with
random weights directly on the device, with a word-level tokenizer built here (the prompt is padded
to the model's 512 tokens either way), and run end to end: prompt encoding, reference encoding,
denoising, VAE decoding. Every figure is labelled "random weights" and the card's name.

Rows (each warmed up first with a one-step run at its size, so compilation and kernel selection are
never timed):

- ``klein plain``: bf16, 4 distilled steps, at 1 MP and at 2048×1152 (refgen's native cap for 2K/4K);
- ``wan plain``: bf16 (VAE float32), CFG guidance 5 (two transformer passes a step), ``--steps``
  timed steps (default 2); ``e2e s`` is measured for those steps, ``e2e@50`` adds the missing
  steps of the official 50-step recipe at the measured s/step;
- ``wan fast``: the fast tier's arithmetic: 4 steps, guidance 1 (one pass a step), FP8 (torchao,
  compute capability ≥ 8.9) and ``compile_repeated_blocks``; the distillation LoRA is fused into
  the weights in production, so it costs nothing here and is left out.

``--budget`` seconds (default 540) bounds the whole run: a row that would start after it is reported
as skipped. ``--json PATH`` writes the rows.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "bench" / "configs"
sys.path.insert(0, str(ROOT))

PROMPT = "two friends walk through a park by the lake with a red dog and a calm steady camera"
COLUMNS = ("model", "tier", "size", "steps", "s/step", "e2e s", "e2e@recipe", "peak GiB", "note")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny test configs (a CPU smoke run)")
    parser.add_argument("--device", default="cuda", help="cuda or cpu [cuda]")
    parser.add_argument("--only", default="klein,wan", help="comma-separated: klein, wan [both]")
    parser.add_argument("--steps", type=int, default=2, help="timed steps of the plain Wan rows [2]")
    parser.add_argument("--sizes", default="480p,720p", help="Wan sizes [480p,720p]")
    parser.add_argument("--no-compile", action="store_true", help="fast tier without torch.compile")
    parser.add_argument("--budget", type=float, default=540.0, help="seconds for the whole run [540]")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    return parser.parse_args(argv)


class Clock:
    def __init__(self, torch: Any, device: str, budget: float) -> None:
        self.torch, self.cuda, self.budget = torch, device.startswith("cuda"), budget
        self.start = time.perf_counter()

    def sync(self) -> float:
        if self.cuda:
            self.torch.cuda.synchronize()
        return time.perf_counter()

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.start)

    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()

    def peak(self) -> float | None:
        return self.torch.cuda.max_memory_allocated() / 2**30 if self.cuda else None


def load_config(name: str, tiny: bool) -> dict[str, Any]:
    return dict(json.loads((CONFIGS / f"{'tiny-' if tiny else ''}{name}.json").read_text()))


@contextmanager
def building(torch: Any, device: str) -> Iterator[None]:
    """Modules created inside are allocated on ``device`` in bf16 (no float32 copy first)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)


def references(count: int, size: tuple[int, int]) -> list[Any]:
    from PIL import Image, ImageDraw

    pictures = []
    for i in range(count):
        image = Image.new("RGB", size, (255, 255, 255))
        w, h = size
        ImageDraw.Draw(image).ellipse((w // 4, h // 6, 3 * w // 4, 5 * h // 6), fill=(60 * i % 255, 90, 200))
        pictures.append(image)
    return pictures


def build_wan(torch: Any, device: str, config: dict[str, Any]) -> Any:
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanVACEPipeline,
        WanVACETransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    from refgen.testing.tiny_diffusers import tiny_tokenizer

    with building(torch, device):
        transformer = WanVACETransformer3DModel.from_config(config["transformer"]).to(torch.bfloat16)
        text_encoder = UMT5EncoderModel(UMT5Config(**config["text_encoder"])).eval().to(torch.bfloat16)
    with torch.device(device):
        vae = AutoencoderKLWan(**config["vae"]).to(torch.float32)  # Wan's VAE runs in float32
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=config["recipe"]["flow_shift"]
    )
    return WanVACEPipeline(
        tokenizer=tiny_tokenizer(),
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        transformer=transformer,
        transformer_2=None,
    )


def build_klein(torch: Any, device: str, config: dict[str, Any]) -> Any:
    from diffusers import (
        AutoencoderKLFlux2,
        FlowMatchEulerDiscreteScheduler,
        Flux2KleinPipeline,
        Flux2Transformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from refgen.testing.tiny_diffusers import klein_tokenizer

    tokenizer = klein_tokenizer()
    encoder_config = {"vocab_size": len(tokenizer), **config["text_encoder"]}
    with building(torch, device):
        transformer = Flux2Transformer2DModel.from_config(config["transformer"]).to(torch.bfloat16)
        text_encoder = Qwen3ForCausalLM(Qwen3Config(**encoder_config)).eval().to(torch.bfloat16)
        vae = AutoencoderKLFlux2(**config["vae"]).to(torch.bfloat16)
    return Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        is_distilled=True,
    )


def timed_run(clock: Clock, pipe: Any, kwargs: dict[str, Any]) -> tuple[float, float]:
    """One warm-up run of one step (latents only), then the timed run: (median s/step, e2e s)."""
    torch = clock.torch
    pipe(**{**kwargs, "num_inference_steps": 1, "output_type": "latent", "generator": _gen(torch)})
    stamps: list[float] = []

    def step(p: Any, i: int, t: Any, k: dict[str, Any]) -> dict[str, Any]:
        stamps.append(clock.sync())
        return k

    clock.reset_peak()
    start = clock.sync()
    pipe(**kwargs, generator=_gen(torch), callback_on_step_end=step)
    end = clock.sync()
    gaps = [b - a for a, b in zip([start, *stamps], stamps, strict=False)][1:] or [stamps[0] - start]
    return statistics.median(gaps), end - start


def _gen(torch: Any) -> Any:
    return torch.Generator().manual_seed(0)


def row(model: str, tier: str, size: str, steps: int, **values: Any) -> dict[str, Any]:
    return {"model": model, "tier": tier, "size": size, "steps": steps, **values}


def klein_rows(args: argparse.Namespace, torch: Any, clock: Clock) -> Iterator[dict[str, Any]]:
    config = load_config("flux2-klein-4b", args.tiny)
    recipe = config["recipe"]
    pipe = build_klein(torch, args.device, config)
    pipe.set_progress_bar_config(disable=True)
    extra = {k: recipe[k] for k in ("text_encoder_out_layers", "max_sequence_length") if k in recipe}
    for name, (width, height) in recipe["sizes"].items():
        if clock.left() <= 0:
            yield row("klein-4b", "plain", name, recipe["steps"], note="skipped: out of time")
            continue
        kwargs = {
            "prompt": PROMPT,
            "image": references(3, (width // 2, height // 2) if not args.tiny else (64, 64)),
            "height": height,
            "width": width,
            "num_inference_steps": recipe["steps"],
            "guidance_scale": recipe["guidance"],
            "output_type": "np",
            **extra,
        }
        per_step, e2e = timed_run(clock, pipe, kwargs)
        yield row(
            "klein-4b",
            "plain",
            f"{width}x{height}",
            recipe["steps"],
            **{
                "s/step": per_step,
                "e2e s": e2e,
                "e2e@recipe": e2e,
                "peak GiB": clock.peak(),
                "note": "3 refs",
            },
        )
    del pipe
    _free(torch)


def wan_rows(args: argparse.Namespace, torch: Any, clock: Clock) -> Iterator[dict[str, Any]]:
    config = load_config("wan-vace-14b", args.tiny)
    recipe = config["recipe"]
    pipe = build_wan(torch, args.device, config)
    pipe.set_progress_bar_config(disable=True)
    sizes = {name: recipe["sizes"][name] for name in args.sizes.split(",")}
    extra = {"max_sequence_length": recipe["max_sequence_length"]} if "max_sequence_length" in recipe else {}

    def kwargs_for(width: int, height: int, steps: int, guidance: float) -> dict[str, Any]:
        return {
            "prompt": PROMPT,
            "reference_images": references(3, (width, height)),
            "height": height,
            "width": width,
            "num_frames": recipe["num_frames"],
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "output_type": "np",
            **extra,
        }

    for name, (width, height) in sizes.items():
        if clock.left() <= 0:
            yield row("wan-vace-14b", "plain", name, args.steps, note="skipped: out of time")
            continue
        per_step, e2e = timed_run(clock, pipe, kwargs_for(width, height, args.steps, recipe["guidance"]))
        whole = e2e + (recipe["steps"] - args.steps) * per_step
        yield row(
            "wan-vace-14b",
            "plain",
            f"{width}x{height}x{recipe['num_frames']}",
            args.steps,
            **{
                "s/step": per_step,
                "e2e s": e2e,
                "e2e@recipe": whole,
                "peak GiB": clock.peak(),
                "note": f"bf16, CFG {recipe['guidance']}; e2e@recipe = {recipe['steps']} steps",
            },
        )
    notes = [speed_up(pipe.transformer, torch, args)]
    for name, (width, height) in sizes.items():
        if clock.left() <= 0:
            yield row("wan-vace-14b", "fast", name, recipe["fast_steps"], note="skipped: out of time")
            continue
        steps = recipe["fast_steps"]
        per_step, e2e = timed_run(clock, pipe, kwargs_for(width, height, steps, 1.0))
        yield row(
            "wan-vace-14b",
            "fast",
            f"{width}x{height}x{recipe['num_frames']}",
            steps,
            **{
                "s/step": per_step,
                "e2e s": e2e,
                "e2e@recipe": e2e,
                "peak GiB": clock.peak(),
                "note": "; ".join(n for n in notes if n),
            },
        )
    del pipe
    _free(torch)


def speed_up(transformer: Any, torch: Any, args: argparse.Namespace) -> str:
    """FP8 (when torchao and the card allow) and compiled repeated blocks; says what was applied."""
    applied = ["guidance 1"]
    cuda = args.device.startswith("cuda")
    if cuda and torch.cuda.get_device_capability() >= (8, 9):
        try:
            from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, quantize_

            quantize_(transformer, Float8DynamicActivationFloat8WeightConfig())
            applied.append("fp8")
        except ImportError:
            applied.append("no fp8 (torchao missing)")
    else:
        applied.append("no fp8 (needs CUDA 8.9+)")
    if not args.no_compile:
        transformer.compile_repeated_blocks(fullgraph=True)
        applied.append("compiled blocks")
    return ", ".join(applied)


def _free(torch: Any) -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def table(rows: list[dict[str, Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "-"
        return (
            f"{value:.3f}"
            if isinstance(value, float) and value < 10
            else (f"{value:.1f}" if isinstance(value, float) else str(value))
        )

    cells = [[cell(r.get(c)) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --device cpu --tiny for a smoke run")
    card = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    clock = Clock(torch, args.device, args.budget)
    makers: dict[str, Callable[..., Iterator[dict[str, Any]]]] = {"klein": klein_rows, "wan": wan_rows}
    rows: list[dict[str, Any]] = []
    for name in args.only.split(","):
        for result in makers[name](args, torch, clock):
            rows.append(result)
            print(json.dumps(result), flush=True)
    label = f"random weights, {card}, torch {torch.__version__}" + (" (tiny configs)" if args.tiny else "")
    print(f"\n{label}; whole run {time.perf_counter() - clock.start:.0f} s\n")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"label": label, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
