from __future__ import annotations

import numpy as np

from refgen.media.music import synthesize_music

RATE = 48_000


def test_music_has_the_exact_length_and_range() -> None:
    for samples in (1, 1000, 5 * RATE + 17):
        audio = synthesize_music(samples, 3, RATE)
        assert audio.shape == (2, samples) and audio.dtype == np.float32
        assert float(np.abs(audio).max()) <= 1.0


def test_music_is_deterministic_per_seed() -> None:
    a = synthesize_music(4 * RATE, 11, RATE)
    assert np.array_equal(a, synthesize_music(4 * RATE, 11, RATE))
    assert np.abs(a - synthesize_music(4 * RATE, 12, RATE)).mean() > 0.01


def test_music_fades_in_and_out() -> None:
    audio = synthesize_music(6 * RATE, 5, RATE)
    loud = float(np.sqrt(np.mean(audio[:, 2 * RATE : 4 * RATE] ** 2)))
    assert loud > 0.05
    assert float(np.abs(audio[:, :100]).max()) < 0.01
    assert float(np.abs(audio[:, -100:]).max()) < 0.01


def test_music_has_percussion() -> None:
    """Drums are broadband transients: the differenced signal (treble) pulses on the beat grid."""
    audio = synthesize_music(8 * RATE, 2, RATE)
    treble = np.abs(np.diff(audio[0]))
    frames = treble[: len(treble) // 480 * 480].reshape(-1, 480).mean(axis=1)  # 10 ms frames
    middle = frames[200:600]  # seconds 2..6: past the fade-in and the first bar
    assert middle.max() > 4 * np.median(middle)
