"""Benchmark a worker's memory on large references: seven 40-megapixel pictures beside seven of 1 MP.

    .venv/bin/python bench/big_references.py [--seconds 5] [--megapixels 40] [--count 7]

Builds the references in code (photo-like: a lit gradient wall with soft blotches and fine grain, a
shaded subject on most of them, one landscape with no subject; JPEG and PNG in turn, one of them
portrait), then renders, each in a fresh process so that its peak resident memory is its own:

1. a reference2video task (1080p, 16:9, ``--seconds`` long, encoded to H.264 as the worker does), and
2. a reference2image task (1080p, 16:9),

once from the large references and once from the same pictures scaled to 1 MP. Prints peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the rendering process) and seconds for each, and
the ratio large / 1 MP. Target: a worker rendering the seven 40 MP references peaks under 1 GiB.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from refgen.backends.compositor import CompositorBackend
from refgen.domain import TaskKind
from refgen.generation import GenerationJob, ImageOutput, VideoOutput
from refgen.media.video import VideoTarget, encode_output

WIDTH, HEIGHT, FPS = 1920, 1080, 24
SMALL_MEGAPIXELS = 1.0
KINDS = {"reference2video": TaskKind.VIDEO, "reference2image": TaskKind.IMAGE}


class _Never:
    def is_cancelled(self) -> bool:
        return False


def painted(seed: int, width: int, height: int, *, subject: bool) -> np.ndarray:
    """A photo-like RGB picture of ``width`` × ``height``: painted small, scaled up, grain added."""
    rng = np.random.default_rng(seed)
    sw, sh = max(16, width // 16), max(16, height // 16)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    tint = rng.uniform(90, 170, 3)
    small = np.dstack([tint[c] + 50 * xx / sw * (c - 1) + 40 * yy / sh for c in range(3)])
    for _ in range(24):  # soft blotches: shelves, plants, shadows
        centre = (int(rng.uniform(0, sw)), int(rng.uniform(0, sh)))
        axes = (int(rng.uniform(3, sw / 6)), int(rng.uniform(3, sh / 6)))
        colour = tuple(float(c) for c in rng.uniform(40, 220, 3))
        cv2.ellipse(small, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1)
    small = cv2.GaussianBlur(small, (0, 0), 1.5)
    if subject:
        mask = np.zeros((sh, sw), np.float32)
        cv2.ellipse(mask, (sw // 2, int(sh * 0.62)), (int(sw * 0.2), int(sh * 0.3)), 0, 0, 360, 1.0, -1)
        cv2.circle(mask, (sw // 2, int(sh * 0.26)), int(min(sw, sh) * 0.12), 1.0, -1)
        colour = rng.uniform(30, 230, 3)
        shade = 0.55 + 0.45 * np.clip(1.2 - (xx / sw * 0.6 + yy / sh * 0.8), 0, 1)
        body = colour[None, None, :] * shade[..., None]
        small = np.where(mask[..., None] > 0, body, small)
    base = cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.integers(0, 7, (256, 256, 3), dtype=np.uint8)
    tiled = np.tile(grain, (math.ceil(height / 256), math.ceil(width / 256), 1))[:height, :width]
    cv2.add(base, tiled, dst=base)
    cv2.subtract(base, np.full(3, 3.0), dst=base)
    return base


def build(folder: Path, count: int, megapixels: float) -> None:
    """Runs in a child process: writes ``count`` large references and their 1 MP copies."""
    for i in range(count):
        portrait = i == 2
        aspect = 3 / 2
        long_side = math.floor(math.sqrt(megapixels * 1e6 * aspect))
        short_side = math.floor(long_side / aspect)  # within the 40 MP the contract allows
        w, h = (short_side, long_side) if portrait else (long_side, short_side)
        rgb = painted(i, w, h, subject=i != 3)
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        del rgb
        ext = "jpg" if i % 2 == 0 else "png"
        params = [cv2.IMWRITE_JPEG_QUALITY, 92] if ext == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 6]
        cv2.imwrite(str(folder / f"large{i}.{ext}"), bgr, params)
        k = math.sqrt(SMALL_MEGAPIXELS * 1e6 / (w * h))
        small = cv2.resize(bgr, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"small{i}.{ext}"), small, params)


def render(kind: TaskKind, seconds: int, refs: list[str], out: str) -> None:
    """Runs in a fresh process: the worker's work for one task (load, render, encode); prints JSON."""
    backend = CompositorBackend()
    backend.load()  # as a worker does once at start-up, before its first task
    job = GenerationJob(
        task_id="bench",
        kind=kind,
        model="viduq1",
        prompt="the friends walk into the room and wave",
        references=tuple(Path(r) for r in refs),
        width=WIDTH,
        height=HEIGHT,
        seed=7,
        duration=seconds if kind.makes_video else 0,
        fps=FPS,
        movement_amplitude="large",
        bgm=kind.makes_video,
    )
    started = time.perf_counter()
    output = backend.generate(job, lambda i, n: None, _Never())
    if isinstance(output, VideoOutput):
        encode_output(output, [VideoTarget(Path(out))])
    else:
        assert isinstance(output, ImageOutput)
        cv2.imwrite(out + ".png", cv2.cvtColor(output.image, cv2.COLOR_RGB2BGR))
    wall = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({"seconds": wall, "rss_peak": rss}))


def _child(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, __file__, *args], check=False, capture_output=True, text=True, close_fds=True
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args[:2]} failed:\n{done.stderr[-4000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of the video (default 5)")
    parser.add_argument("--megapixels", type=float, default=40.0, help="size of the large references")
    parser.add_argument("--count", type=int, default=7, help="how many references (default 7)")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--render", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(Path(args.build), args.count, args.megapixels)
        return
    if args.render:
        kind, out, *refs = args.render
        render(KINDS[kind], args.seconds, refs, out)
        return

    with tempfile.TemporaryDirectory(prefix="bench-big-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        _child("--build", str(folder), "--count", str(args.count), "--megapixels", str(args.megapixels))
        large = sorted(folder.glob("large*"))
        small = sorted(folder.glob("small*"))
        sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 2**20:.0f} MiB" for p in large)
        print(
            f"built {len(large)} references of {args.megapixels:g} MP ({sizes}) and their "
            f"{SMALL_MEGAPIXELS:g} MP copies in {time.perf_counter() - started:.0f} s"
        )
        print(f"{'task':<18}{'references':>16}{'peak RSS':>12}{'seconds':>10}")
        for name in KINDS:
            figures = {}
            for label, refs in ((f"{args.megapixels:g} MP", large), (f"{SMALL_MEGAPIXELS:g} MP", small)):
                out = folder / f"{name}-{label.split()[0]}.mp4"
                line = _child(
                    "--seconds", str(args.seconds), "--render", name, str(out), *(str(r) for r in refs)
                )
                figures[label] = json.loads(line.strip().splitlines()[-1])
                rss, seconds = figures[label]["rss_peak"] / 2**20, figures[label]["seconds"]
                print(f"{name:<18}{f'{len(refs)} x {label}':>16}{rss:>8.0f} MiB{seconds:>10.2f}")
            big, base = (figures[label] for label in figures)
            print(
                f"{name:<18}{'ratio large/1 MP':>16}{big['rss_peak'] / base['rss_peak']:>10.2f} x"
                f"{big['seconds'] / base['seconds']:>10.2f}   (target: large peak RSS < 1024 MiB)"
            )


if __name__ == "__main__":
    main()
