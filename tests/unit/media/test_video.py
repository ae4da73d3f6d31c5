from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from refgen.errors import BackendError
from refgen.generation import VideoOutput
from refgen.media.video import (
    VideoTarget,
    encode_output,
    encode_video,
    is_faststart,
    mp4_top_level_boxes,
    probe,
    to_yuv420p,
    write_jpeg,
    write_png,
)
from refgen.media.watermark import Watermark


def _frames(n: int, w: int = 320, h: int = 180) -> Iterator[np.ndarray]:
    for i in range(n):
        frame = np.zeros((h, w, 3), np.uint8)
        frame[..., 0] = (i * 9) % 256
        frame[:, : (i * 5) % w, 1] = 200
        yield frame


def test_encode_video_24_frames_probe(tmp_path: Path) -> None:
    out = tmp_path / "a.mp4"
    first = encode_video(_frames(24), [VideoTarget(out)], frame_count=24)
    info = probe(out)
    assert (info.codec, info.pix_fmt, info.width, info.height) == ("h264", "yuv420p", 320, 180)
    assert info.fps == 24 and info.frame_count == 24 and info.duration == pytest.approx(1.0)
    assert not info.has_audio and info.audio_codec is None
    assert first.shape == (180, 320, 3) and int(first[0, 0, 1]) == 0


def test_encode_video_moov_before_mdat(tmp_path: Path) -> None:
    out = tmp_path / "a.mp4"
    encode_video(_frames(24), [VideoTarget(out)], frame_count=24)
    data = out.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")
    boxes = mp4_top_level_boxes(out)
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")
    assert is_faststart(out)


def test_encode_video_48_frames_with_audio_two_targets(tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.mp4", tmp_path / "wm.mp4"
    audio = (0.2 * np.sin(np.linspace(0, 2000, 48_000 * 3))).astype(np.float32)[None].repeat(2, axis=0)
    progress: list[tuple[int, int]] = []
    encode_output(
        VideoOutput(frames=_frames(48), frame_count=48, fps=24, audio=audio),  # 3 s of audio: trimmed to 2 s
        [VideoTarget(plain), VideoTarget(marked, overlay=Watermark(3).apply)],
        progress=lambda i, n: progress.append((i, n)),
    )
    for path in (plain, marked):
        info = probe(path)
        assert info.frame_count == 48 and info.duration == pytest.approx(2.0) and info.fps == 24
        assert info.has_audio and info.audio_codec == "aac"
        assert info.audio_channels == 2 and info.audio_sample_rate == 48_000
        assert is_faststart(path)
    with av.open(str(plain)) as c:
        stream = c.streams.audio[0]
        assert stream.duration is not None and stream.time_base is not None
        assert float(stream.duration * stream.time_base) == pytest.approx(2.0, abs=0.05)
    assert progress[-1] == (48, 48)
    # the overlay went only into the second file
    with av.open(str(plain)) as a, av.open(str(marked)) as b:
        fa = next(a.decode(video=0)).to_ndarray(format="rgb24")
        fb = next(b.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(fa.astype(int) - fb.astype(int))[120:, 200:].max() > 100
    assert np.abs(fa.astype(int) - fb.astype(int))[:60, :100].mean() < 2


def test_encode_video_pads_short_audio(tmp_path: Path) -> None:
    out = tmp_path / "a.mp4"
    audio = np.zeros((2, 1000), np.float32)
    encode_video(_frames(24), [VideoTarget(out)], frame_count=24, audio=audio)
    with av.open(str(out)) as c:
        samples = sum(f.samples for f in c.decode(audio=0))
    assert samples >= 48_000


@pytest.mark.parametrize("produced", [23, 25])
def test_encode_video_refuses_wrong_frame_count_and_removes_files(tmp_path: Path, produced: int) -> None:
    out = tmp_path / "a.mp4"
    with pytest.raises(BackendError):
        encode_video(_frames(produced), [VideoTarget(out)], frame_count=24)
    assert not out.exists()


def test_encode_video_refuses_odd_or_changing_frames(tmp_path: Path) -> None:
    with pytest.raises(BackendError):
        encode_video(_frames(2, 321, 180), [VideoTarget(tmp_path / "a.mp4")], frame_count=2)

    def mixed() -> Iterator[np.ndarray]:
        yield np.zeros((180, 320, 3), np.uint8)
        yield np.zeros((180, 322, 3), np.uint8)

    with pytest.raises(BackendError):
        encode_video(mixed(), [VideoTarget(tmp_path / "b.mp4")], frame_count=2)


def test_write_png_and_jpeg_round_trip(tmp_path: Path) -> None:
    frame = np.zeros((180, 320, 3), np.uint8)
    frame[..., 0] = 250
    write_png(frame, tmp_path / "a.png")
    write_jpeg(frame, tmp_path / "a.jpg", quality=90)
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "a.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    from refgen.media.images import load_rgba

    assert np.array_equal(load_rgba(tmp_path / "a.png")[..., :3], frame)
    assert np.abs(load_rgba(tmp_path / "a.jpg")[..., :3].astype(int) - frame).max() < 8


def test_to_yuv420p_matches_ffmpeg_scaler() -> None:
    """The encoder's own RGB → YUV 4:2:0 conversion uses FFmpeg's default matrix and range
    (BT.601, limited): flat colours convert identically, and luma agrees everywhere."""
    for rgb, yuv in (
        ((255, 255, 255), (235, 128, 128)),
        ((0, 0, 0), (16, 128, 128)),
        ((0, 0, 255), (41, 240, 110)),
        ((0, 255, 0), (145, 54, 34)),
    ):
        flat = np.full((4, 4, 3), rgb, np.uint8)
        ours = to_yuv420p(flat)
        theirs = av.VideoFrame.from_ndarray(flat, format="rgb24").reformat(format="yuv420p").to_ndarray()
        assert (ours[0, 0], ours[4, 0], ours[5, 0]) == yuv
        assert np.array_equal(ours, theirs)
    rng = np.random.default_rng(3)
    frame = np.asarray(rng.integers(0, 256, (72, 128, 3), dtype=np.uint8))
    ours = to_yuv420p(frame)
    theirs = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p").to_ndarray()
    assert ours.shape == theirs.shape == (72 * 3 // 2, 128)
    assert np.abs(ours[:72].astype(int) - theirs[:72].astype(int)).max() <= 1  # chroma: another 2×2 filter
