"""Benchmark the diffusers backends on a GPU: seconds per step, end-to-end seconds, peak GPU memory.

    .venv/bin/python bench/gpu.py --wan /models/Wan2.1-VACE-14B-diffusers --flux /models/FLUX.2-klein-4B

For each backend given and each speed configuration (``--configs``, default all that apply):

=============  ============================================================================
``fp32``       float32 everywhere (the "no speed options" row; may not fit for the 14B)
``bf16``       bfloat16 (the Wan VAE stays float32): the baseline the ratios are against
``compile``    bf16 + ``transformer.compile_repeated_blocks(fullgraph=True)``
``cache``      bf16 + a diffusers cache hook: first-block cache for Wan (``--cache-threshold``,
               default 0.05), TaylorSeer for FLUX.2 (first-block cache fails on it in 0.42)
``fp8``        bf16 + torchao FP8 dynamic-activation/weight quantization of the transformer
               (needs torchao and compute capability ≥ 8.9; skipped otherwise)
``all``        bf16 + fp8 + cache + compile
``fast``       the fast tier: bf16 + fp8 + compile, 4 steps, guidance 1 (add the distillation
               LoRA with ``--option wan:lora=/models/...safetensors``; the preset
               ``wan-vace-14b-fast`` sets all of this)
=============  ============================================================================

the backend is loaded from the weights folder by the backend's own loader (``local_files_only``) in
a fresh child process (so peak memory, compile caches and quantization never leak between rows),
then each contract resolution (``--video-resolutions`` 360p,720p,1080p at 16:9 and ``--duration``
5 s; ``--image-resolutions`` 1080p,2K,4K at 16:9) is run ``--repeat`` times after ``--warmup``
untimed runs (default 1, for every row: first-run costs such as compilation, kernel selection and
allocator growth are never timed). Reported per row:

- ``s/step``: median time between two denoising steps' end (CUDA-synchronised), so text encoding,
  reference encoding and decoding are excluded;
- ``denoise s``: from the pipeline call to its return (text encode + steps + VAE decode);
- ``total s``: ``generate()`` plus producing every output frame at the contract size (re-timing,
  scaling), i.e. what the worker waits for before encoding;
- ``encode s``: H.264/PNG encoding of those frames with refgen.media (CPU);
- ``peak GiB``: ``torch.cuda.max_memory_allocated()`` over the timed runs;
- ``×bf16``: ``total s`` of the ``bf16`` row divided by this row's (higher is faster);
- ``PSNR``: the quality gate: this row's output against the ``bf16`` row's output of the same seed
  and resolution (every 8th frame for video), in dB; ``inf`` is identical. A speed option that
  changes the picture a lot (a wrong cache) shows up as a low PSNR, below ~25 dB.

``--steps N`` overrides the backends' default steps (Wan 30, klein 4) for a quicker estimate;
``--option key=value`` adds any backend option (see docs/gpu-backends.md) to every row, e.g.
``--option offload=model`` on a small GPU; ``--option wan:key=value`` / ``flux:key=value`` to one
backend's rows only. ``--json PATH`` also writes the rows as JSON. Without
CUDA it exits with a message (``--allow-cpu`` runs anyway, for smoke tests with tiny weights).
Asserts nothing: benchmarks are not part of the test pass/fail.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from refgen.contract.sizes import output_size

CONFIGS: dict[str, dict[str, Any]] = {
    "fp32": {"dtype": "float32"},
    "bf16": {"dtype": "bfloat16"},
    "compile": {"dtype": "bfloat16", "compile": "blocks"},
    "cache": {"dtype": "bfloat16", "cache": None},
    "fp8": {"dtype": "bfloat16", "fp8": True},
    "all": {"dtype": "bfloat16", "fp8": True, "cache": None, "compile": "blocks"},
    "fast": {"dtype": "bfloat16", "fp8": True, "compile": "blocks", "steps": 4, "guidance": 1.0},
}
BACKENDS = {"wan": "wan-vace", "flux": "flux2-klein"}
COLUMNS = (
    ("backend", "{}"),
    ("config", "{}"),
    ("resolution", "{}"),
    ("native", "{}"),
    ("steps", "{}"),
    ("s/step", "{:.3f}"),
    ("denoise s", "{:.2f}"),
    ("total s", "{:.2f}"),
    ("encode s", "{:.2f}"),
    ("peak GiB", "{:.1f}"),
    ("×bf16", "{:.2f}"),
    ("PSNR", "{:.1f}"),
)


class _Never:
    def is_cancelled(self) -> bool:
        return False


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wan", type=Path, help="a WanVACEPipeline weights folder (VACE-14B or 1.3B)")
    parser.add_argument("--flux", type=Path, help="a Flux2KleinPipeline weights folder (FLUX.2 klein 4B)")
    parser.add_argument(
        "--configs", default=",".join(CONFIGS), help="comma-separated, from: " + ", ".join(CONFIGS)
    )
    parser.add_argument("--video-resolutions", default="360p,720p,1080p")
    parser.add_argument("--image-resolutions", default="1080p,2K,4K")
    parser.add_argument("--aspect-ratio", default="16:9")
    parser.add_argument("--duration", type=int, default=5, help="video seconds [5]")
    parser.add_argument("--references", type=int, default=3, help="reference images per job [3]")
    parser.add_argument("--steps", type=int, default=None, help="override the backends' default steps")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per row [1]")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first, every row [1]")
    parser.add_argument("--cache-threshold", type=float, default=0.05, help="first-block cache threshold")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="extra option")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--allow-cpu", action="store_true", help="run without CUDA (smoke test, tiny weights)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one backend × config per process
    args = parser.parse_args(argv)
    unknown = [c for c in args.configs.split(",") if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configs: {', '.join(unknown)}")
    if not args.child and not (args.wan or args.flux):
        parser.error("give --wan PATH and/or --flux PATH")
    return args


def extra_options(pairs: Sequence[str], kind: str) -> dict[str, Any]:
    """``KEY=VALUE`` options for every backend; ``wan:KEY=VALUE`` / ``flux:KEY=VALUE`` for one.
    Values are JSON when they parse as JSON (``8``, ``true``, ``[1]``), else strings."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--option {pair!r}: expected KEY=VALUE")
        prefix, colon, name = key.partition(":")
        if colon:
            if prefix not in BACKENDS:
                raise SystemExit(f"--option {pair!r}: prefix must be one of {', '.join(BACKENDS)}")
            if prefix != kind:
                continue
            key = name
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def references(folder: Path, count: int) -> tuple[Path, ...]:
    """Photo-like reference pictures painted here (a subject on a soft background), 768 px."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        base = rng.integers(60, 200, 3)
        image = Image.new("RGB", (640, 768), tuple(int(c) for c in base))
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x, y, r = rng.integers(0, 640), rng.integers(0, 768), rng.integers(40, 160)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        image = image.filter(ImageFilter.GaussianBlur(24))
        draw = ImageDraw.Draw(image)
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse((200, 260, 440, 700), fill=colour)
        draw.ellipse((250, 90, 390, 250), fill=(230, 190, 160))
        path = folder / f"ref{i}.png"
        image.save(path)
        paths.append(path)
    return tuple(paths)


# ---------------------------------------------------------------- child: one backend × config


def run_child(args: argparse.Namespace) -> None:
    import torch

    from refgen.domain import TaskKind
    from refgen.generation import GenerationJob, VideoOutput
    from refgen.media.video import VideoTarget, encode_output, write_png

    spec = json.loads(args.child)
    kind, weights, config, options = spec["kind"], spec["weights"], spec["config"], spec["options"]
    cuda = torch.cuda.is_available()

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    stamps: list[float] = []
    calls: list[tuple[float, float]] = []

    def runner(pipe: Any, kwargs: dict[str, Any]) -> Any:
        control = kwargs["callback_on_step_end"]

        def step(p: Any, i: int, t: Any, k: dict[str, Any]) -> dict[str, Any]:
            sync()
            stamps.append(time.perf_counter())
            result: dict[str, Any] = control(p, i, t, k)
            return result

        sync()
        start = time.perf_counter()
        out = pipe(**{**kwargs, "callback_on_step_end": step})
        sync()
        calls.append((start, time.perf_counter()))
        return out

    if kind == "wan":
        from refgen.backends.wan_vace import WanVaceBackend

        backend: Any = WanVaceBackend(weights, options, runner=runner)
        task_kind, model, resolutions = TaskKind.VIDEO, "viduq1", args.video_resolutions.split(",")
    else:
        from refgen.backends.flux2_klein import Flux2KleinBackend

        backend = Flux2KleinBackend(weights, options, runner=runner)
        task_kind, model, resolutions = TaskKind.IMAGE, "viduq2", args.image_resolutions.split(",")
    t0 = time.perf_counter()
    backend.load()
    print(f"# {kind} {config}: loaded in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    warmup = args.warmup
    with tempfile.TemporaryDirectory() as tmp:
        refs = references(Path(tmp), args.references)
        for resolution in resolutions:
            width, height = output_size(resolution, args.aspect_ratio)
            job = GenerationJob(
                task_id="bench",
                kind=task_kind,
                model=model,
                prompt="the people from the pictures walk through a sunny park and wave at the camera",
                references=refs,
                width=width,
                height=height,
                seed=1234,
                duration=args.duration if task_kind is TaskKind.VIDEO else 0,
            )
            plan = backend.plan(job)
            if kind == "wan" and min(width, height) >= 720 and getattr(plan, "tier", "") != "720p":
                # a 14B-class model generates 720p and above on its 720p tier; this one cannot
                print(
                    f"# {resolution}: generated on the {getattr(plan, 'tier', '?')} tier and scaled up "
                    "(a 480p-only model); the row is not a 720p figure",
                    file=sys.stderr,
                    flush=True,
                )
            per_step, denoise, total, encode = [], [], [], []
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            for run in range(warmup + args.repeat):
                stamps.clear()
                calls.clear()
                start = time.perf_counter()
                output = backend.generate(job, lambda s, t: None, _Never())
                if isinstance(output, VideoOutput):
                    frames = list(output.frames)
                    output.frames = iter(frames)
                sync()
                done = time.perf_counter()
                out_path = Path(tmp) / ("out.mp4" if isinstance(output, VideoOutput) else "out.png")
                if isinstance(output, VideoOutput):
                    encode_output(output, [VideoTarget(out_path)])
                else:
                    write_png(output.image, out_path)
                encoded = time.perf_counter()
                if run < warmup:
                    continue
                if spec.get("samples"):
                    kept = frames[::8] if isinstance(output, VideoOutput) else [output.image]
                    np.save(Path(spec["samples"]) / f"{resolution}.npy", np.stack(kept))
                gaps = np.diff(stamps)
                per_step.append(float(np.median(gaps)) if len(gaps) else float(stamps[0] - calls[0][0]))
                denoise.append(calls[0][1] - calls[0][0])
                total.append(done - start)
                encode.append(encoded - done)
            row = {
                "backend": BACKENDS[kind],
                "config": config,
                "resolution": f"{resolution} {width}x{height}",
                "native": f"{plan.width}x{plan.height}" + (f"x{plan.num_frames}" if kind == "wan" else ""),
                "steps": plan.steps,
                "s/step": statistics.median(per_step),
                "denoise s": statistics.median(denoise),
                "total s": statistics.median(total),
                "encode s": statistics.median(encode),
                "peak GiB": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
            }
            print(json.dumps(row), flush=True)
    backend.close()


# ---------------------------------------------------------------- parent: the table


def cache_for(kind: str, threshold: float) -> Any:
    """Wan: first-block cache at ``threshold``; FLUX.2: TaylorSeer (diffusers 0.42's first-block cache
    fails on FLUX.2 transformers), caching every other step after the first."""
    if kind == "wan":
        return threshold
    return {"type": "taylorseer", "cache_interval": 2, "disable_cache_before_step": 1}


def fp8_available() -> str | None:
    """None when FP8 can run here, else why not."""
    import importlib.util

    import torch

    if importlib.util.find_spec("torchao") is None:
        return "torchao is not installed"
    if not torch.cuda.is_available() or torch.cuda.get_device_capability() < (8, 9):
        return "needs compute capability 8.9+"
    return None


def run_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    why_no_fp8 = fp8_available()
    for kind in ("wan", "flux"):
        weights = getattr(args, kind)
        if weights is None:
            continue
        for config in args.configs.split(","):
            options = dict(CONFIGS[config])
            if "cache" in options:
                options["cache"] = cache_for(kind, args.cache_threshold)
            options.update(extra_options(args.option, kind))
            if args.steps and config != "fast":  # the fast tier keeps its 4 steps
                options["steps"] = args.steps
            if options.get("fp8") and why_no_fp8:
                rows.append({"backend": BACKENDS[kind], "config": config, "note": f"skipped: {why_no_fp8}"})
                continue
            if not args.allow_cpu:
                options.setdefault("device", "cuda")
            samples = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-{config}-"))
            spec = {
                "kind": kind,
                "weights": str(weights),
                "config": config,
                "options": options,
                "samples": str(samples),
            }
            command = [sys.executable, __file__, "--child", json.dumps(spec), *child_flags(args)]
            print(f"# {BACKENDS[kind]} {config} {json.dumps(options)}", file=sys.stderr, flush=True)
            proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
            got = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
            for row in got:
                row["samples"] = str(samples / f"{row['resolution'].split()[0]}.npy")
            rows.extend(got)
            if proc.returncode != 0:
                rows.append(
                    {"backend": BACKENDS[kind], "config": config, "note": f"failed (exit {proc.returncode})"}
                )
    for row in rows:
        base = next(
            (
                r
                for r in rows
                if r.get("config") == "bf16"
                and r.get("backend") == row.get("backend")
                and r.get("resolution") == row.get("resolution")
                and "total s" in r
            ),
            None,
        )
        if base is not None and "total s" in row:
            row["×bf16"] = base["total s"] / row["total s"]
            row["PSNR"] = psnr_between(base.get("samples"), row.get("samples"))
    return rows


def psnr_between(first: str | None, second: str | None) -> float | None:
    """PSNR in dB between two saved outputs (uint8 frames), None when either is missing."""
    if not first or not second or not Path(first).is_file() or not Path(second).is_file():
        return None
    a, b = np.load(first).astype(np.float64), np.load(second).astype(np.float64)
    if a.shape != b.shape:
        return None
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def child_flags(args: argparse.Namespace) -> list[str]:
    flags = [
        f"--video-resolutions={args.video_resolutions}",
        f"--image-resolutions={args.image_resolutions}",
        f"--aspect-ratio={args.aspect_ratio}",
        f"--duration={args.duration}",
        f"--references={args.references}",
        f"--repeat={args.repeat}",
        f"--configs={args.configs}",
        f"--warmup={args.warmup}",
    ]
    return flags


def table(rows: Sequence[dict[str, Any]]) -> str:
    cells = []
    for row in rows:
        if "note" in row:
            cells.append([row["backend"], row["config"], row["note"]] + [""] * (len(COLUMNS) - 3))
            continue
        cells.append([fmt.format(row[name]) if row.get(name) is not None else "-" for name, fmt in COLUMNS])
    widths = [
        max(len(name), *(len(c[i]) for c in cells)) if cells else len(name)
        for i, (name, _) in enumerate(COLUMNS)
    ]
    lines = ["  ".join(name.ljust(w) for (name, _), w in zip(COLUMNS, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for c in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        run_child(args)
        return
    try:
        import torch
    except ImportError:
        raise SystemExit("bench/gpu.py needs the gpu extra: pip install 'refgen[gpu]'") from None
    if not torch.cuda.is_available() and not args.allow_cpu:
        raise SystemExit(
            "bench/gpu.py needs a CUDA GPU (torch.cuda.is_available() is False); see docs/gpu-backends.md"
        )
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    rows = run_rows(args)
    print(f"\nrefgen diffusers backends on {device} (torch {torch.__version__})\n")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"device": device, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
