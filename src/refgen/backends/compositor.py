"""The ``compositor`` backend: a deterministic CPU renderer built from the references, no model.

Each reference becomes a subject layer (its own alpha, else a GrabCut cut-out, see
:mod:`refgen.media.cutout`) with a soft contact and drop shadow. The first reference that is mostly
scenery (little foreground) becomes the backdrop instead; without one, the backdrop is a seeded
studio wall and floor in colours that set the subjects off (:mod:`refgen.media.backdrop`). Subjects
are laid out in the order given, keeping their aspect ratios, in rows that never overlap
(:mod:`refgen.media.layout`).

Videos move a seeded camera (an eased pan and zoom plus a slow drift; the backdrop moves half as
much, for parallax) and give every subject a gentle bob, sway and breath. All of it scales with
``movement_amplitude`` (``auto`` reads the prompt's verbs), and all of it is bounded: each subject
moves only within its own cell of the layout and the camera never pushes a subject out of the
frame. Motions are sums of slow sines and a cosine ease, so consecutive frames never jump.

With no references an image job gets a seeded draft scene whose palette and composition come from
the prompt's words, captioned as a draft.

The rest of the video family has its own clip, streamed the same way: img2video moves a camera
over its one picture, the cut-out subject against its inpainted background
(:mod:`refgen.media.photo_motion`); start-end2video morphs the start picture into the end one along
their optical flow under a camera push (:mod:`refgen.media.morph`); text2video animates the
prompt's draft as planes with parallax, in the ``anime`` style when asked
(:mod:`refgen.media.draft_motion`). In reference2video's subjects form, one subject's pictures
share one cell of the layout.

Rendering is vectorised OpenCV on uint8 (``warpAffine`` of premultiplied layers into their small
regions of the frame; the smooth backdrop is warped at its own, smaller, resolution and upscaled),
so a 1080p frame costs less than encoding it. Frames are made lazily, one at a time, in a thread a
few frames ahead of the encoder. Same job and seed → identical frames and sound.

This module is the backend: it loads the references and caches their cut-outs, makes the soundtrack
(music and speech, :mod:`refgen.media.soundtrack`), and streams frames. The picture itself is
:mod:`refgen.media.scene` (backdrop, layout, drawing), built from :mod:`refgen.media.subject_layer`
and :mod:`refgen.media.camera`.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from refgen.domain import TaskKind
from refgen.errors import BackendError, GenerationCancelled
from refgen.generation import CancelToken, Frame, GenerationJob, ImageOutput, ProgressFn, VideoOutput
from refgen.media.caption import caption
from refgen.media.cutout import Cutout, cut_out
from refgen.media.draft_motion import DraftMotion
from refgen.media.images import FULL_SIZE, DecodeSize, load_rgba
from refgen.media.morph import Morph
from refgen.media.music import synthesize_music
from refgen.media.photo_motion import PhotoMotion
from refgen.media.scene import Reference, Scene, decode_size
from refgen.media.soundtrack import soundtrack
from refgen.media.subject_layer import RGBA

SAMPLE_RATE = 48_000
PROGRESS_EVERY = 6  # frames
CACHE_SIZE = 64
PREFETCH = 3  # frames drawn ahead of the encoder


class CompositorBackend:
    """Renders previews from the references on the CPU; see the module docstring."""

    name = "compositor"

    def __init__(self) -> None:
        self._masks: OrderedDict[str, Cutout] = OrderedDict()
        self._lock = threading.Lock()

    def load(self) -> None:
        """No weights to load; warm up instead, so a worker's first task costs what any other does.

        Runs every stage once on a tiny picture (image decoding, the cut-out's GrabCut and colour
        tables, the music, a frame): OpenCV builds its colour-conversion tables on first use (about
        0.1 s for Lab) and Python imports lazily. Leaves the cut-out cache empty.
        """
        _warm_up()

    def supports(self, kind: TaskKind) -> bool:
        return kind is TaskKind.IMAGE or kind.makes_video

    def close(self) -> None:
        with self._lock:
            self._masks.clear()

    def generate(
        self, job: GenerationJob, progress: ProgressFn, cancel: CancelToken
    ) -> VideoOutput | ImageOutput:
        if job.width <= 0 or job.height <= 0:
            raise ValueError(f"job size {job.width}x{job.height} is not positive")
        _check(cancel)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # the soundtrack (music, speech) is made while the references are cut out (NumPy and
            # OpenCV release the GIL; the speech synthesizer is a subprocess)
            sound = pool.submit(soundtrack, job, SAMPLE_RATE) if job.kind.makes_video else None
            # start-end2video morphs whole pictures: it needs no cut-outs
            morph = job.kind is TaskKind.START_END_TO_VIDEO
            references = [] if morph else self.references(job.references, decode_size(job.width, job.height))
            audio = sound.result() if sound is not None else None
        _check(cancel)
        if job.kind == TaskKind.IMAGE:
            image = Scene(job, references, still=True).frame(0.0, 0.0)
            if not references:
                image = caption(image, job.prompt)
            progress(1, 1)
            return ImageOutput(image=image)
        return VideoOutput(
            frames=_frames(_clip(job, references), job.frame_count, job.fps, progress, cancel),
            frame_count=job.frame_count,
            fps=job.fps,
            audio=audio,
            sample_rate=SAMPLE_RATE,
        )

    def references(self, paths: Sequence[Path], size: DecodeSize = FULL_SIZE) -> list[Reference]:
        """Load every reference, reduced to what ``size`` asks, and cut it out.

        The pictures are decoded one at a time, so that only one is ever at full size (a PNG is
        decoded whole before it is reduced); the cut-outs run in parallel (OpenCV releases the GIL)
        and are cached by content.
        """
        loaded = [(load_rgba(p, size), _digest(p)) for p in paths]
        if len(loaded) <= 1:
            return [self._reference(*item) for item in loaded]
        with ThreadPoolExecutor(max_workers=min(4, len(loaded))) as pool:
            return list(pool.map(lambda item: self._reference(*item), loaded))

    def _reference(self, rgba: RGBA, key: str) -> Reference:
        with self._lock:
            cut = self._masks.get(key)
            if cut is not None:
                self._masks.move_to_end(key)
        if cut is None or cut.mask.shape != rgba.shape[:2]:
            cut = cut_out(rgba)
            with self._lock:
                self._masks[key] = cut
                while len(self._masks) > CACHE_SIZE:
                    self._masks.popitem(last=False)
        return Reference(rgba, cut)


def _digest(path: Path) -> str:
    """The file's SHA-256, read a block at a time: the cut-out cache's key."""
    with Path(path).open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _warm_up() -> None:
    h, w = 72, 64
    yy, xx = np.mgrid[0:h, 0:w]
    picture = np.zeros((h, w, 3), np.uint8)
    picture[...] = np.dstack([60 + xx, 90 + yy, np.full_like(xx, 140)]).astype(np.uint8)
    picture[((xx - w / 2) ** 2 + (yy - h / 2) ** 2) < (w / 4) ** 2] = (200, 60, 40)
    data = cv2.imencode(".png", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))[1].tobytes()
    rgba = load_rgba(data)
    job = GenerationJob(
        task_id="warm-up",
        kind=TaskKind.VIDEO,
        model="",
        prompt="",
        references=(),
        width=64,
        height=64,
        seed=0,
        duration=1,
    )
    Scene(job, [Reference(rgba, cut_out(rgba))]).frame(0.5, 0.5)
    synthesize_music(SAMPLE_RATE // 10, 0, SAMPLE_RATE)


class Clip(Protocol):
    """What a video kind draws: the frame at clip fraction ``u`` (0 first … 1 last) and ``t`` s."""

    def frame(self, u: float, t: float) -> Frame: ...


def _clip(job: GenerationJob, references: Sequence[Reference]) -> Clip:
    """The clip for the job's kind (see the module docstring)."""
    if job.kind is TaskKind.IMAGE_TO_VIDEO:
        if len(references) != 1:
            raise BackendError(f"img2video takes one picture, got {len(references)}")
        return PhotoMotion(job, references[0])
    if job.kind is TaskKind.START_END_TO_VIDEO:
        if len(job.references) != 2:
            raise BackendError(f"start-end2video takes two pictures, got {len(job.references)}")
        start, end = (load_rgba(p, decode_size(job.width, job.height)) for p in job.references)
        return Morph(job, start, end)
    if job.kind is TaskKind.TEXT_TO_VIDEO:
        return DraftMotion(job)
    return Scene(job, references)


def _check(cancel: CancelToken) -> None:
    if cancel.is_cancelled():
        raise GenerationCancelled()


def _frames(scene: Clip, count: int, fps: int, progress: ProgressFn, cancel: CancelToken) -> Iterator[Frame]:
    """Yield the frames in order, rendered ``PREFETCH`` ahead in a thread while the reader encodes.

    OpenCV releases the GIL, so drawing the next frames overlaps with encoding this one; the queue
    is bounded, so at most ``PREFETCH`` + 1 frames exist at a time.
    """
    progress(0, count)
    frames: queue.Queue[tuple[int, Frame | BaseException]] = queue.Queue(maxsize=PREFETCH)
    stop = threading.Event()

    def render() -> None:
        try:
            for i in range(count):
                if stop.is_set():
                    return
                item: Frame | BaseException = scene.frame(i / max(1, count - 1), i / fps)
                while not stop.is_set():
                    try:
                        frames.put((i, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # handed to the reader, raised there
            frames.put((-1, exc))

    worker = threading.Thread(target=render, name="compositor-frames", daemon=True)
    worker.start()
    try:
        for i in range(count):
            _check(cancel)
            _, item = frames.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if (i + 1) % PROGRESS_EVERY == 0 or i + 1 == count:
                progress(i + 1, count)
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                frames.get_nowait()
        worker.join()
