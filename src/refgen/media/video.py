"""Encode frame streams to MP4 (H.264 + optional AAC), write covers and stills, probe and decode files.

:func:`encode_video` reads a frame iterator once and writes every target at the same time (the plain
video and, say, a watermarked copy, each with its own per-frame overlay), so frames are never all
held in memory. Output follows the contract: H.264 (``libx264``), yuv420p, exactly ``fps`` frames
per second with ``pts = frame index`` in a ``1/fps`` time base, exactly ``frame_count`` frames, and
the ``moov`` atom first (``movflags=+faststart``). Audio, when given, is AAC stereo, trimmed or
padded with silence to the video's length and interleaved with the video as it is written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from refgen.errors import BackendError
from refgen.generation import Frame, ProgressFn, VideoOutput

FrameFilter = Callable[[Frame], Frame]
"""Maps a frame to the frame a target writes (a watermark, say). Must not modify its input."""

AUDIO_CHUNK = 1024  # AAC frame size


@dataclass(frozen=True)
class VideoTarget:
    """One MP4 file to write; ``overlay`` (if any) is applied to every frame for this file only."""

    path: Path
    overlay: FrameFilter | None = None


@dataclass(frozen=True)
class ProbeInfo:
    codec: str
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float  # seconds, of the video stream
    pix_fmt: str
    has_audio: bool
    audio_codec: str | None = None
    audio_channels: int = 0
    audio_sample_rate: int = 0


def default_preset(width: int, height: int) -> str:
    """x264 preset by frame size: ``veryfast`` up to 720p, ``superfast`` above."""
    return "veryfast" if width * height <= 1280 * 720 else "superfast"


def encode_video(
    frames: Iterable[Frame],
    targets: Sequence[VideoTarget],
    *,
    frame_count: int,
    fps: int = 24,
    audio: npt.NDArray[np.float32] | None = None,
    sample_rate: int = 48_000,
    crf: int = 23,
    preset: str | None = None,
    progress: ProgressFn | None = None,
) -> Frame:
    """Encode exactly ``frame_count`` frames into every target; return (a copy of) the first frame.

    Raises BackendError if the stream yields fewer or more frames than promised, or frames whose
    size changes or is odd. Targets written before a failure are removed.
    """
    if not targets:
        raise ValueError("encode_video needs at least one target")
    if frame_count <= 0:
        raise ValueError("frame_count must be positive")
    audio_track = None if audio is None else fit_audio(audio, frame_count, fps, sample_rate)
    writers: list[_Writer] = []
    first: Frame | None = None
    count = 0
    try:
        for frame in frames:
            if count == frame_count:
                raise BackendError(f"the frame stream yielded more than the promised {frame_count} frames")
            if first is None:
                first = _check_first(frame)
                h, w = first.shape[:2]
                chosen = preset or default_preset(w, h)
                for target in targets:
                    writers.append(
                        _Writer(
                            target, w, h, fps=fps, crf=crf, preset=chosen, audio=audio_track, rate=sample_rate
                        )
                    )
            elif frame.shape != first.shape or frame.dtype != np.uint8:
                raise BackendError(f"frame {count} has shape {frame.shape}, expected {first.shape} uint8")
            for writer in writers:
                writer.write(frame, count)
            count += 1
            if progress is not None:
                progress(count, frame_count)
        if count != frame_count:
            raise BackendError(f"the frame stream ended after {count} of {frame_count} frames")
        for writer in writers:
            writer.finish()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    assert first is not None
    return first


def encode_output(output: VideoOutput, targets: Sequence[VideoTarget], **kwargs: Any) -> Frame:
    """:func:`encode_video` for a backend's :class:`~refgen.generation.VideoOutput`."""
    return encode_video(
        output.frames,
        targets,
        frame_count=output.frame_count,
        fps=output.fps,
        audio=output.audio,
        sample_rate=output.sample_rate,
        **kwargs,
    )


def fit_audio(
    audio: npt.NDArray[np.floating[Any]], frame_count: int, fps: int, sample_rate: int
) -> npt.NDArray[np.float32]:
    """Stereo float32 ``(2, n)`` of exactly the video's length: trimmed, or padded with silence."""
    arr = np.asarray(audio, dtype=np.float32)
    if arr.ndim == 1:
        arr = np.stack([arr, arr])
    if arr.ndim != 2 or arr.shape[0] not in (1, 2):
        raise BackendError(f"audio must have shape (2, samples), got {arr.shape}")
    if arr.shape[0] == 1:
        arr = np.repeat(arr, 2, axis=0)
    n = frame_count * sample_rate // fps
    out = np.zeros((2, n), dtype=np.float32)
    m = min(n, arr.shape[1])
    out[:, :m] = np.clip(arr[:, :m], -1.0, 1.0)
    return out


class _Writer:
    """One open MP4 file: a video stream and maybe an audio stream, written frame by frame."""

    def __init__(
        self,
        target: VideoTarget,
        width: int,
        height: int,
        *,
        fps: int,
        crf: int,
        preset: str,
        audio: npt.NDArray[np.float32] | None,
        rate: int,
    ) -> None:
        self.target = target
        self.fps = fps
        self.audio = audio
        self.rate = rate
        self.audio_pos = 0
        target.path.parent.mkdir(parents=True, exist_ok=True)
        self.container: Any = av.open(
            str(target.path), mode="w", format="mp4", options={"movflags": "+faststart"}
        )
        try:
            stream: Any = self.container.add_stream(
                "libx264", rate=fps, options={"crf": str(crf), "preset": preset}
            )
            stream.width = width
            stream.height = height
            stream.pix_fmt = "yuv420p"
            stream.codec_context.time_base = Fraction(1, fps)
            self.video = stream
            self.audio_stream: Any = None
            if audio is not None:
                astream: Any = self.container.add_stream("aac", rate=rate)
                astream.layout = "stereo"
                astream.bit_rate = 160_000
                self.audio_stream = astream
        except BaseException:
            self.container.close()
            raise

    def write(self, frame: Frame, index: int) -> None:
        image = frame if self.target.overlay is None else self.target.overlay(frame)
        vf = av.VideoFrame.from_ndarray(to_yuv420p(image), format="yuv420p")
        vf.pts = index
        vf.time_base = Fraction(1, self.fps)
        self.container.mux(self.video.encode(vf))
        # interleave: bring the audio up to the end of this frame
        if self.audio is not None:
            self._write_audio(until=(index + 1) * self.rate // self.fps)

    def _write_audio(self, until: int) -> None:
        assert self.audio is not None
        end = min(until, self.audio.shape[1])
        while self.audio_pos < end:
            stop = min(self.audio_pos + AUDIO_CHUNK, self.audio.shape[1])
            if stop > end and stop < self.audio.shape[1]:
                break  # only whole AAC frames until the very last one
            chunk = np.ascontiguousarray(self.audio[:, self.audio_pos : stop])
            af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            af.sample_rate = self.rate
            af.pts = self.audio_pos
            af.time_base = Fraction(1, self.rate)
            self.container.mux(self.audio_stream.encode(af))
            self.audio_pos = stop

    def finish(self) -> None:
        try:
            self.container.mux(self.video.encode(None))
            if self.audio is not None:
                self._write_audio(until=self.audio.shape[1])
                self.container.mux(self.audio_stream.encode(None))
        finally:
            self.container.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()
        with contextlib.suppress(OSError):
            self.target.path.unlink(missing_ok=True)


def to_yuv420p(frame: Frame) -> npt.NDArray[np.uint8]:
    """An RGB frame as planar YUV 4:2:0 (``(H·3/2, W)``: Y, then U, then V), BT.601 limited range.

    The same matrix and range FFmpeg's scaler uses by default for ``rgb24`` → ``yuv420p``, about
    four times faster (OpenCV converts in parallel, with SIMD), so the encoder is handed frames in
    its own pixel format.
    """
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)


def _check_first(frame: Frame) -> Frame:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise BackendError(f"frames must be RGB uint8 (H, W, 3), got {frame.shape} {frame.dtype}")
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        raise BackendError(f"frame size {w}x{h} must be even for yuv420p")
    return frame.copy()


def write_png(frame: Frame, path: Path | str) -> None:
    """Write an RGB (or RGBA) uint8 frame as PNG."""
    _write(frame, path, ".png", [cv2.IMWRITE_PNG_COMPRESSION, 3])


def write_jpeg(frame: Frame, path: Path | str, quality: int = 90) -> None:
    """Write an RGB uint8 frame as a baseline JPEG (the cover)."""
    _write(frame[..., :3], path, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(quality)])


def _write(frame: Frame, path: Path | str, ext: str, params: list[int]) -> None:
    code = cv2.COLOR_RGBA2BGRA if frame.ndim == 3 and frame.shape[2] == 4 else cv2.COLOR_RGB2BGR
    ok, buf = cv2.imencode(ext, cv2.cvtColor(np.ascontiguousarray(frame), code), params)
    if not ok:
        raise BackendError(f"could not encode {ext} image")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buf.tobytes())


def probe(path: Path | str) -> ProbeInfo:
    """Read an MP4's stream facts with PyAV (no decoding beyond what counting frames needs)."""
    with av.open(str(path)) as container:
        c: Any = container
        if not c.streams.video:
            raise BackendError(f"{path} has no video stream")
        v = c.streams.video[0]
        frames = int(v.frames)
        if frames == 0:  # container without a frame count: count packets
            frames = sum(1 for p in c.demux(v) if p.size)
        rate = v.average_rate or v.guessed_rate or 0
        if v.duration is not None and v.time_base is not None:
            duration = float(v.duration * v.time_base)
        else:
            duration = frames / float(rate) if rate else 0.0
        a = c.streams.audio[0] if c.streams.audio else None
        return ProbeInfo(
            codec=v.codec_context.name,
            width=v.codec_context.width,
            height=v.codec_context.height,
            fps=float(rate),
            frame_count=frames,
            duration=duration,
            pix_fmt=str(v.codec_context.pix_fmt),
            has_audio=a is not None,
            audio_codec=None if a is None else a.codec_context.name,
            audio_channels=0 if a is None else a.codec_context.channels,
            audio_sample_rate=0 if a is None else a.codec_context.sample_rate,
        )


def read_frames(path: Path | str) -> Iterator[Frame]:
    """Decode an MP4's video frames, in order, as RGB uint8 (the frames a viewer sees).

    YUV 4:2:0 is converted by OpenCV (the inverse of :func:`to_yuv420p`), not by FFmpeg's scaler,
    whose result can vary in the last bit with the buffers' memory alignment: decoding the same
    file twice gives the same pixels.
    """
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.format.name == "yuv420p":
                planes = np.ascontiguousarray(frame.to_ndarray(), dtype=np.uint8)
                yield np.asarray(cv2.cvtColor(planes, cv2.COLOR_YUV2RGB_I420), dtype=np.uint8)
            else:
                yield np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def mp4_top_level_boxes(path: Path | str) -> list[str]:
    """The types of an MP4's top-level boxes in file order (``ftyp``, ``moov``, ``mdat``, …)."""
    boxes: list[str] = []
    with open(path, "rb") as f:
        while True:
            header = f.read(8)
            if len(header) < 8:
                break
            size = int.from_bytes(header[:4], "big")
            kind = header[4:8].decode("latin-1")
            boxes.append(kind)
            if size == 1:
                size = int.from_bytes(f.read(8), "big")
                f.seek(size - 16, 1)
            elif size == 0:
                break
            else:
                f.seek(size - 8, 1)
    return boxes


def is_faststart(path: Path | str) -> bool:
    """True when ``moov`` comes before ``mdat`` (playback can start before the download ends)."""
    boxes = mp4_top_level_boxes(path)
    return "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")
