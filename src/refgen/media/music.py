"""Background music: a small seeded synthesizer (no samples, no model).

A chord progression in a seeded key and tempo, played as a soft detuned pad with a bass note and a
plucked arpeggio over it, faded in and out. Everything is vectorised NumPy: ten seconds cost about a
tenth of a second. Output is float32 stereo ``(2, samples)`` in [-1, 1], exactly ``samples`` long.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]

# semitone offsets of chord roots from the key, and whether the chord is minor
_PROGRESSIONS: tuple[tuple[tuple[int, bool], ...], ...] = (
    ((0, False), (7, False), (9, True), (5, False)),  # I V vi IV
    ((9, True), (5, False), (0, False), (7, False)),  # vi IV I V
    ((0, False), (9, True), (5, False), (7, False)),  # I vi IV V
    ((0, False), (5, False), (9, True), (7, False)),  # I IV vi V
)
_ARP_PATTERNS = ((0, 1, 2, 3, 2, 1, 0, 1), (0, 2, 1, 3, 0, 2, 1, 3), (3, 2, 1, 0, 1, 2, 3, 2))


def _hz(midi: float) -> float:
    return float(440.0 * 2.0 ** ((midi - 69) / 12))


def synthesize_music(samples: int, seed: int, sample_rate: int = 48_000) -> Audio:
    """Seeded background music of exactly ``samples`` stereo samples."""
    out = np.zeros((2, max(0, samples)), np.float32)
    if samples <= 0:
        return out
    rng = np.random.default_rng([seed, 0xB6])
    key = 48 + int(rng.integers(0, 12))  # C3..B3
    bpm = float(rng.uniform(76, 100))
    beat = 60.0 / bpm
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    pattern = _ARP_PATTERNS[int(rng.integers(len(_ARP_PATTERNS)))]
    chord_len = 4 * beat
    total = samples / sample_rate
    t_all = np.arange(samples, dtype=np.float64) / sample_rate

    mix = np.zeros((2, samples), np.float64)
    n_chords = int(np.ceil(total / chord_len)) + 1
    for c in range(n_chords):
        root, minor = progression[c % len(progression)]
        tones = [key + root, key + root + (3 if minor else 4), key + root + 7, key + root + 12]
        start = c * chord_len
        a = max(0, int((start - 0.25) * sample_rate))
        b = min(samples, int((start + chord_len + 0.5) * sample_rate))
        if a >= b:
            continue
        t = t_all[a:b]
        local = t - start
        env = np.clip((local + 0.25) / 0.5, 0, 1) * np.clip((chord_len + 0.5 - local) / 0.5, 0, 1)
        env = env * env * (3 - 2 * env)  # smoothstep: no clicks between chords
        for ch, detune in enumerate((-0.0025, 0.0025)):
            pad = np.zeros_like(t)
            for tone in tones:
                f = _hz(tone) * (1 + detune)
                phase = 2 * np.pi * f * t
                pad += np.sin(phase) + 0.25 * np.sin(2 * phase) + 0.08 * np.sin(3 * phase)
            bass = np.sin(2 * np.pi * _hz(key + root - 12) * t)
            mix[ch, a:b] += env * (0.05 * pad + 0.12 * bass)
        # arpeggio: eighth notes over the chord
        step = beat / 2
        for i in range(round(chord_len / step)):
            note_t = start + i * step
            na = int(note_t * sample_rate)
            if na >= samples:
                break
            nb = min(samples, int((note_t + 1.2) * sample_rate))
            tn = t_all[na:nb] - note_t
            f = _hz(tones[pattern[i % len(pattern)]] + 12)
            decay = np.exp(-tn / 0.28) * np.clip(tn / 0.004, 0, 1)
            voice = decay * (np.sin(2 * np.pi * f * tn) + 0.3 * np.sin(4 * np.pi * f * tn))
            pan = 0.5 + (0.25 if i % 2 else -0.25)
            mix[0, na:nb] += 0.09 * (1 - pan) * 2 * voice
            mix[1, na:nb] += 0.09 * pan * 2 * voice

    mix = np.tanh(mix * 1.2)
    peak = float(np.max(np.abs(mix))) or 1.0
    mix *= 0.6 / peak
    fade_in = min(samples // 4, int(0.6 * sample_rate))
    fade_out = min(samples // 4, int(1.2 * sample_rate))
    if fade_in:
        mix[:, :fade_in] *= np.linspace(0.0, 1.0, fade_in) ** 2
    if fade_out:
        mix[:, samples - fade_out :] *= np.linspace(1.0, 0.0, fade_out) ** 2
    out[:] = mix
    return out
