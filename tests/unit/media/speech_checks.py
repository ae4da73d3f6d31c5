"""Measures of a sound track for the speech tests: short-window loudness and a voice's pitch.

``need_speech`` skips a test where the synthesizer is not installed, or fails it when
``REFGEN_TEST_REQUIRE_SERVICES=1`` (``make test``, which installs it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from refgen.media import speech
from tests.services import unavailable

Samples = npt.NDArray[np.floating]


def need_speech() -> None:
    if not speech.available():
        unavailable(f"{speech.PROGRAM} is not installed (scripts/install-speech.sh installs it)")


def window_rms(mono: Samples, rate: int, seconds: float = 0.02) -> npt.NDArray[np.float64]:
    """RMS of consecutive windows of ``seconds`` (20 ms by default)."""
    n = max(1, round(seconds * rate))
    count = mono.size // n
    frames = np.asarray(mono[: count * n], dtype=np.float64).reshape(count, n)
    return np.asarray(np.sqrt(np.mean(frames**2, axis=1)))


def voiced_share(mono: Samples, rate: int, low_hz: float = 70.0, high_hz: float = 400.0) -> float:
    """Share of the loud 40 ms windows that are periodic with a pitch between ``low_hz`` and ``high_hz``."""
    n = round(0.04 * rate)
    frames = np.asarray(mono[: mono.size // n * n], dtype=np.float64).reshape(-1, n)
    loud = frames[np.sqrt(np.mean(frames**2, axis=1)) > 0.02]
    if not len(loud):
        return 0.0
    lags = np.arange(int(rate / high_hz), int(rate / low_hz) + 1)
    hits = 0
    for frame in loud:
        frame = frame - frame.mean()
        energy = float(np.dot(frame, frame)) or 1.0
        corr = np.array([np.dot(frame[:-lag], frame[lag:]) for lag in lags]) / energy
        hits += bool(corr.max() > 0.4)
    return hits / len(loud)


def zero_crossings_per_second(mono: Samples, rate: int) -> float:
    """Zero crossings per second in the loud 40 ms windows (voiced speech: hundreds to a few thousand)."""
    n = round(0.04 * rate)
    frames = np.asarray(mono[: mono.size // n * n], dtype=np.float64).reshape(-1, n)
    loud = frames[np.sqrt(np.mean(frames**2, axis=1)) > 0.02]
    if not len(loud):
        return 0.0
    signs = np.signbit(loud)
    return float(np.count_nonzero(signs[:, 1:] != signs[:, :-1])) * rate / loud.size
