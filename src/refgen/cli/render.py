"""``refgen render``: run the compositor locally, no server: a contact sheet, a video or an image.

    refgen render --image a.png --image b.png --contact-sheet sheet.png
    refgen render --image a.png --video out.mp4 --duration 4 --amplitude large --bgm
    refgen render --prompt "a red desert at sunset" --still out.png --resolution 4K

The contact sheet is a grid of frames: one row per movement amplitude (small, medium, large), and
for each aspect ratio (16:9, 9:16, 1:1) the first, middle and last frame of a short clip, so the
layout, the cut-outs and how far things move can be seen without playing a video.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click
import numpy as np

from refgen.contract.sizes import SHORT_SIDE, output_size
from refgen.domain import TaskKind
from refgen.generation import Frame, GenerationJob, ImageOutput, VideoOutput

SHEET_AMPLITUDES = ("small", "medium", "large")
SHEET_RATIOS = ("16:9", "9:16", "1:1")
SHEET_TILE = 240  # px, the short side of each frame on the sheet
SHEET_SECONDS = 4


class _Never:
    def is_cancelled(self) -> bool:
        return False


def _job(
    kind: TaskKind,
    images: Sequence[Path],
    prompt: str,
    seed: int,
    size: tuple[int, int],
    *,
    duration: int = 0,
    amplitude: str = "auto",
    bgm: bool = False,
) -> GenerationJob:
    return GenerationJob(
        task_id="local",
        kind=kind,
        model="local",
        prompt=prompt,
        references=tuple(images),
        width=size[0],
        height=size[1],
        seed=seed,
        duration=duration,
        movement_amplitude=amplitude,
        bgm=bgm,
    )


def _even_size(aspect_ratio: str, short: int) -> tuple[int, int]:
    w, _, h = aspect_ratio.partition(":")
    rw, rh = int(w), int(h)
    if rw >= rh:
        return 2 * round(short * rw / rh / 2), short
    return short, 2 * round(short * rh / rw / 2)


def contact_sheet(images: Sequence[Path], prompt: str, seed: int, *, tile: int = SHEET_TILE) -> Frame:
    """The grid described in the module docstring, as one RGB image."""
    from refgen.backends.compositor import CompositorBackend

    backend = CompositorBackend()
    gap, label_w = max(4, tile // 30), tile // 2
    rows: list[Frame] = []
    for amplitude in SHEET_AMPLITUDES:
        cells: list[Frame] = []
        for ratio in SHEET_RATIOS:
            size = _even_size(ratio, tile)
            out = backend.generate(
                _job(TaskKind.VIDEO, images, prompt, seed, size, duration=SHEET_SECONDS, amplitude=amplitude),
                lambda i, n: None,
                _Never(),
            )
            assert isinstance(out, VideoOutput)
            wanted = {0, out.frame_count // 2, out.frame_count - 1}
            for i, frame in enumerate(out.frames):
                if i in wanted:
                    cells.append(frame)
        height = max(c.shape[0] for c in cells)
        row = [_label(amplitude, label_w, height)]
        for cell in cells:
            pad = np.full((height, cell.shape[1] + gap, 3), 24, np.uint8)
            top = (height - cell.shape[0]) // 2
            pad[top : top + cell.shape[0], gap:] = cell
            row.append(pad)
        rows.append(np.concatenate(row, axis=1))
    width = max(r.shape[1] for r in rows)
    sheet = np.full((sum(r.shape[0] + gap for r in rows) + gap, width + gap, 3), 24, np.uint8)
    y = gap
    for r in rows:
        sheet[y : y + r.shape[0], : r.shape[1]] = r
        y += r.shape[0] + gap
    return sheet


def _label(text: str, width: int, height: int) -> Frame:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (width, height), (24, 24, 24))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(10, width // 6))
    draw.text((width // 10, height // 2), text, font=font, fill=(230, 230, 230), anchor="lm")
    return np.asarray(image, dtype=np.uint8).copy()


@click.command()
@click.option(
    "--image",
    "images",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A reference image (repeat, in order; none for a text-only draft still).",
)
@click.option("--prompt", default="", help="The prompt (colours and verbs are read from it).")
@click.option("--seed", default=0, type=int, show_default=True, help="Seed: same seed, same output.")
@click.option(
    "--contact-sheet",
    "sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a PNG grid of frames: rows small/medium/large, columns 16:9, 9:16, 1:1 × start/middle/end.",
)
@click.option("--video", type=click.Path(dir_okay=False, path_type=Path), help="Write one MP4.")
@click.option("--still", type=click.Path(dir_okay=False, path_type=Path), help="Write one PNG image.")
@click.option("--aspect-ratio", default="16:9", show_default=True, help="For --video and --still.")
@click.option(
    "--resolution",
    default="720p",
    show_default=True,
    type=click.Choice(sorted(SHORT_SIDE)),
    help="For --video and --still.",
)
@click.option(
    "--duration", default=4, type=click.IntRange(1, 16), show_default=True, help="Seconds (--video)."
)
@click.option(
    "--amplitude",
    default="auto",
    type=click.Choice(["auto", "small", "medium", "large"]),
    show_default=True,
    help="Movement amplitude (--video).",
)
@click.option("--bgm", is_flag=True, help="Add background music (--video).")
def render(
    images: tuple[Path, ...],
    prompt: str,
    seed: int,
    sheet: Path | None,
    video: Path | None,
    still: Path | None,
    aspect_ratio: str,
    resolution: str,
    duration: int,
    amplitude: str,
    bgm: bool,
) -> None:
    """Render with the CPU compositor locally (no server): a contact sheet, a video or a still."""
    from refgen.backends.compositor import CompositorBackend
    from refgen.media.video import VideoTarget, encode_output, write_png

    if sheet is None and video is None and still is None:
        raise click.UsageError("say what to write: --contact-sheet, --video and/or --still")
    if (sheet is not None or video is not None) and not images:
        raise click.UsageError("--contact-sheet and --video need at least one --image")
    try:
        size = output_size(resolution, aspect_ratio)
    except ValueError:
        raise click.UsageError(f"invalid --aspect-ratio {aspect_ratio!r}, use W:H such as 16:9") from None
    backend = CompositorBackend()
    if sheet is not None:
        write_png(contact_sheet(images, prompt, seed), sheet)
        click.echo(f"contact sheet: {sheet}")
    if video is not None:
        job = _job(
            TaskKind.VIDEO, images, prompt, seed, size, duration=duration, amplitude=amplitude, bgm=bgm
        )
        out = backend.generate(job, lambda i, n: None, _Never())
        assert isinstance(out, VideoOutput)
        encode_output(out, [VideoTarget(video)])
        click.echo(f"video: {video} ({size[0]}x{size[1]}, {duration} s)")
    if still is not None:
        result = backend.generate(
            _job(TaskKind.IMAGE, images, prompt, seed, size), lambda i, n: None, _Never()
        )
        assert isinstance(result, ImageOutput)
        write_png(result.image, still)
        click.echo(f"image: {still} ({size[0]}x{size[1]})")
