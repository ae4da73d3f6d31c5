"""Benchmark the compositor: render + encode vs a bare encode, peak memory, and a 4K still.

    .venv/bin/python bench/compositor.py [--seconds 5] [--repeat 3]

1. **Bare encode** (the baseline): the very frames and music the compositor makes for the job below,
   rendered beforehand into memory, encoded by ``refgen.media.video.encode_video`` with the preset and
   CRF the worker uses: what the encoder alone costs for this content. (Also printed: a synthetic
   stream of the same count, a noise frame with a moving stripe, for scale.)
2. **Compositor**: a reference2video job (5 s, 1080p, 16:9, three photo references, ``large``
   movement, music on) rendered and encoded the same way, frames streaming into the encoder.
   Run in a fresh child process so its peak RSS is its own. The backend is loaded (warmed up) first,
   as a worker does once at start-up; the cut-out cache starts empty. (No ``tracemalloc`` in the
   timed run: tracing every allocation costs a quarter of the wall time.)
3. **4K reference2image** (3840×2160, three references, cut-outs not cached): wall time.
4. **The video family**: img2video (the first photo), start-end2video (the first two) and text2video
   (no references) at 1080p (img2video and start-end2video in the first photo's ratio), each beside
   a bare encode of its own frames, ``--repeat`` times each; the median ratio is printed.
5. **Phone-sized references**: the set-up of the same video job from the three photos scaled up to
   4000 px JPEGs (decoding, cut-outs, music, scene; the frames are not drawn).

Prints the figures and the ratio render+encode / bare encode; asserts nothing. Targets: ratio ≤ 1.5,
peak memory ≤ 1 GB, 4K image ≤ 3 s. References are scikit-image's sample photos when it is installed
(astronaut, chelsea the cat, coffee), else photo-like pictures painted here.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np

from refgen.backends.compositor import CompositorBackend
from refgen.contract.sizes import auto_size
from refgen.domain import TaskKind
from refgen.generation import GenerationJob, ImageOutput, VideoOutput
from refgen.media.images import load_rgba
from refgen.media.video import VideoTarget, default_preset, encode_output, encode_video

WIDTH, HEIGHT, FPS = 1920, 1080, 24


class _Never:
    def is_cancelled(self) -> bool:
        return False


def references(folder: Path) -> tuple[Path, ...]:
    """Three photos: scikit-image's samples if available, else painted photo-like pictures."""
    spec = find_spec("skimage")
    if spec is not None and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        names = ("astronaut.png", "chelsea.png", "coffee.png")
        if all((data / n).exists() for n in names):
            return tuple(data / n for n in names)
    rng = np.random.default_rng(0)
    paths = []
    for i, colour in enumerate(((200, 70, 50), (60, 90, 190), (230, 190, 60))):
        h, w = 480, 400 + 80 * i
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.dstack([110 + 40 * xx / w, 120 + 30 * yy / h, 100 + 20 * (xx + yy) / (w + h)])
        img += rng.normal(0, 12, img.shape)
        disc = (((xx - w / 2) / (0.32 * w)) ** 2 + ((yy - h * 0.55) / (0.38 * h)) ** 2) < 1
        shade = 0.6 + 0.4 * (1 - yy / h)
        img[disc] = (np.array(colour) * shade[disc][:, None]) + rng.normal(0, 6, (int(disc.sum()), 3))
        path = folder / f"ref{i}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
        paths.append(path)
    return tuple(paths)


def job(
    refs: tuple[Path, ...],
    seconds: int,
    kind: TaskKind = TaskKind.VIDEO,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> GenerationJob:
    return GenerationJob(
        task_id="bench",
        kind=kind,
        model="viduq1",
        prompt="three friends dancing on a stage",
        references=refs,
        width=size[0],
        height=size[1],
        seed=42,
        duration=seconds,
        fps=FPS,
        movement_amplitude="large",
        bgm=kind == TaskKind.VIDEO,
    )


def family_job(kind: TaskKind, refs: tuple[Path, ...], seconds: int) -> GenerationJob:
    """A 1080p job of the video family: img2video and start-end2video take their first picture's
    ratio (as the contract does), text2video is 16:9 and has no references."""
    if kind is TaskKind.TEXT_TO_VIDEO:
        return job((), seconds, kind)
    picked = refs[:1] if kind is TaskKind.IMAGE_TO_VIDEO else refs[:2]
    height, width = load_rgba(picked[0]).shape[:2]
    return job(picked, seconds, kind, auto_size("1080p", width, height))


def bare_encode(
    refs: tuple[Path, ...], seconds: int, out: Path, kind: TaskKind = TaskKind.VIDEO
) -> tuple[float, float]:
    """Encode the compositor's own frames (and music), made beforehand: the encoder alone.

    Returns (seconds for the same frames, seconds for a synthetic stream of the same count).
    """
    the_job = job(refs, seconds) if kind is TaskKind.VIDEO else family_job(kind, refs, seconds)
    output = CompositorBackend().generate(the_job, lambda i, n: None, _Never())
    assert isinstance(output, VideoOutput)
    frames = list(output.frames)  # held in memory here only: this is the baseline, not the renderer
    started = time.perf_counter()
    encode_video(
        iter(frames),
        [VideoTarget(out)],
        frame_count=len(frames),
        fps=FPS,
        audio=output.audio,
        sample_rate=output.sample_rate,
    )
    same = time.perf_counter() - started
    if kind is not TaskKind.VIDEO:
        return same, 0.0
    base = np.random.default_rng(1).integers(0, 255, (HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    base = np.asarray(cv2.resize(base, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC), dtype=np.uint8)
    del frames

    def synthetic() -> Iterator[np.ndarray]:
        for i in range(output.frame_count):
            frame = base.copy()
            x = (i * 17) % (WIDTH - 200)
            frame[:, x : x + 200] = 255 - frame[:, x : x + 200]
            yield frame

    started = time.perf_counter()
    encode_video(synthetic(), [VideoTarget(out)], frame_count=output.frame_count, fps=FPS)
    return same, time.perf_counter() - started


def peak_rss() -> int:
    """This process's peak resident memory in bytes (VmHWM: unlike ru_maxrss, reset by exec)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def render_child(seconds: int, refs: list[str], out: str, kind: TaskKind = TaskKind.VIDEO) -> None:
    """Runs in a fresh process: render + encode one video, print JSON figures."""
    backend = CompositorBackend()
    backend.load()  # as a worker does once at start-up, before its first task
    paths = tuple(Path(r) for r in refs)
    the_job = job(paths, seconds) if kind is TaskKind.VIDEO else family_job(kind, paths, seconds)
    started = time.perf_counter()
    output = backend.generate(the_job, lambda i, n: None, _Never())
    assert isinstance(output, VideoOutput)
    setup = time.perf_counter() - started
    encode_output(output, [VideoTarget(Path(out))])
    wall = time.perf_counter() - started
    rss = peak_rss()
    print(json.dumps({"wall": wall, "setup": setup, "rss_peak": rss}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default=TaskKind.VIDEO.value, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        render_child(args.seconds, args.child[1:], args.child[0], TaskKind(args.kind))
        return
    count = args.seconds * FPS
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        refs = references(folder)
        print(f"references: {', '.join(p.name for p in refs)}")
        print(f"frames: {count} at {WIDTH}x{HEIGHT}, preset {default_preset(WIDTH, HEIGHT)}, crf 23")
        ratios: list[float] = []
        for run in range(args.repeat):
            bare, synthetic = bare_encode(refs, args.seconds, folder / "bare.mp4")
            fig = in_child(TaskKind.VIDEO, args.seconds, folder / "r.mp4", refs)
            print(f"run {run + 1}:")
            print(f"  bare encode            {bare:6.2f} s  ({count / bare:5.1f} fps; same frames, music)")
            print(
                f"  bare encode, synthetic {synthetic:6.2f} s  ({count / synthetic:5.1f} fps; moving stripe)"
            )
            print(
                f"  compositor + encode    {fig['wall']:6.2f} s  ({count / fig['wall']:5.1f} fps; "
                f"set-up incl. cut-outs {fig['setup']:.2f} s)"
            )
            ratios.append(fig["wall"] / bare)
            print(f"  ratio                  {ratios[-1]:6.2f}  (target <= 1.5)")
            streaming = (fig["wall"] - fig["setup"]) / bare
            print(f"  ratio, set-up excluded {streaming:6.2f}  (frames streaming into the encoder only)")
            print(f"  peak memory            {fig['rss_peak'] / 2**20:6.0f} MiB RSS  (target <= 1024 MiB)")
        if len(ratios) > 1:
            print(
                f"ratio over {len(ratios)} runs: median {statistics.median(ratios):.2f}, "
                f"range {min(ratios):.2f}-{max(ratios):.2f}  (target <= 1.5)"
            )
        print(
            f"video family, {args.repeat} run(s) each (large movement, no music), compositor + encode / bare:"
        )
        for kind in (TaskKind.IMAGE_TO_VIDEO, TaskKind.START_END_TO_VIDEO, TaskKind.TEXT_TO_VIDEO):
            family(kind, refs, args.seconds, folder, args.repeat)
        backend = CompositorBackend()
        backend.load()
        started = time.perf_counter()
        out = backend.generate(job(refs, 0, TaskKind.IMAGE, (3840, 2160)), lambda i, n: None, _Never())
        cold = time.perf_counter() - started
        assert isinstance(out, ImageOutput) and out.image.shape == (2160, 3840, 3)
        started = time.perf_counter()
        backend.generate(job(refs, 0, TaskKind.IMAGE, (3840, 2160)), lambda i, n: None, _Never())
        warm = time.perf_counter() - started
        print(f"4K reference2image       {cold:6.2f} s  (cut-outs cached: {warm:.2f} s; target <= 3 s)")
        phone = phone_sized(refs, folder)
        backend = CompositorBackend()
        backend.load()
        started = time.perf_counter()
        backend.generate(job(phone, args.seconds), lambda i, n: None, _Never())  # frames not drawn
        print(
            f"set-up, 4000 px JPEGs    {time.perf_counter() - started:6.2f} s  "
            "(three phone-sized references: decode, cut-outs, music, scene)"
        )


def in_child(kind: TaskKind, seconds: int, out: Path, refs: tuple[Path, ...]) -> dict[str, float]:
    """Render + encode one video in a fresh process (:func:`render_child`); its JSON figures."""
    child = subprocess.run(
        [sys.executable, __file__, "--seconds", str(seconds), "--kind", kind.value, "--child", str(out)]
        + [str(r) for r in refs],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return figures


def family(kind: TaskKind, refs: tuple[Path, ...], seconds: int, folder: Path, repeat: int) -> None:
    """One row of the video family: its bare encode beside its render + encode in a fresh process,
    ``repeat`` times (each pair measured back to back); prints the median ratio."""
    the_job = family_job(kind, refs, seconds)
    ratios, setups = [], []
    for _ in range(repeat):
        bare, _ = bare_encode(refs, seconds, folder / "bare.mp4", kind)
        fig = in_child(kind, seconds, folder / "r.mp4", the_job.references)
        ratios.append(fig["wall"] / bare)
        setups.append(fig["setup"])
    size = f"{the_job.width}x{the_job.height}"
    print(
        f"  {kind.value:16} {size:>9}  ratio {statistics.median(ratios):4.2f} "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}; set-up {statistics.median(setups):.2f} s)  "
        "(target <= 1.5)"
    )


def phone_sized(refs: tuple[Path, ...], folder: Path) -> tuple[Path, ...]:
    """The references scaled up to 4000 px on their long side, as JPEG: what a phone camera sends."""
    out = []
    for i, path in enumerate(refs):
        image = cv2.imread(str(path))
        assert image is not None, path
        scale = 4000 / max(image.shape[:2])
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        target = folder / f"phone{i}.jpg"
        cv2.imwrite(
            str(target),
            cv2.resize(image, size, interpolation=cv2.INTER_CUBIC),
            [cv2.IMWRITE_JPEG_QUALITY, 90],
        )
        out.append(target)
    return tuple(out)


if __name__ == "__main__":
    main()
