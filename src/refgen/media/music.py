"""Background music: a small seeded synthesizer (no samples, no model).

A chord progression in a seeded key and tempo, played as a soft detuned pad with a bass note and a
plucked arpeggio over it, with soft percussion (a low kick on beats 1 and 3, a brushed snare on 2 and
4, closed hi-hats on the eighths, seeded accents) entering after the first bar, faded in and out.
The noise of the drums comes from the same seeded generator, so the same seed gives the same music.
Everything is vectorised NumPy in float32 (the harmonics come from one sine and cosine by the
double- and triple-angle identities): ten seconds cost about 0.06 s on one core. Output is float32
stereo ``(2, samples)`` in [-1, 1], exactly ``samples`` long.
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
    if samples <= 0:
        return np.zeros((2, 0), np.float32)
    rng = np.random.default_rng([seed, 0xB6])
    key = 48 + int(rng.integers(0, 12))  # C3..B3
    bpm = float(rng.uniform(76, 100))
    beat = 60.0 / bpm
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    pattern = _ARP_PATTERNS[int(rng.integers(len(_ARP_PATTERNS)))]
    chord_len = 4 * beat
    total = samples / sample_rate

    mix = np.zeros((2, samples), np.float32)
    n_chords = int(np.ceil(total / chord_len)) + 1
    for c in range(n_chords):
        root, minor = progression[c % len(progression)]
        tones = [key + root, key + root + (3 if minor else 4), key + root + 7, key + root + 12]
        start = c * chord_len
        a = max(0, int((start - 0.25) * sample_rate))
        b = min(samples, int((start + chord_len + 0.5) * sample_rate))
        if a >= b:
            continue
        # time from this chord's first sample, in float32 (short spans keep the phase exact enough);
        # each oscillator adds the phase it has reached at that sample, so waves run on across chords
        local = np.arange(b - a, dtype=np.float32) / np.float32(sample_rate)
        t0 = a / sample_rate
        since = local + np.float32(t0 - start)
        env = np.clip((since + 0.25) / 0.5, 0, 1) * np.clip((chord_len + 0.5 - since) / 0.5, 0, 1)
        env = env * env * (3 - 2 * env)  # smoothstep: no clicks between chords
        for ch, detune in enumerate((-0.0025, 0.0025)):
            pad = np.zeros_like(local)
            for tone in tones:
                f = _hz(tone) * (1 + detune)
                s1, c1 = _oscillator(f, t0, local)
                # sin x + 0.25 sin 2x + 0.08 sin 3x; sin 2x = 2 sin x cos x, sin 3x = sin x (3 - 4 sin² x)
                pad += s1 * (1.24 + 0.5 * c1 - 0.32 * s1 * s1)
            bass, _ = _oscillator(_hz(key + root - 12), t0, local)
            mix[ch, a:b] += env * (0.05 * pad + 0.12 * bass)
        # arpeggio: eighth notes over the chord
        step = beat / 2
        for i in range(round(chord_len / step)):
            note_t = start + i * step
            na = int(note_t * sample_rate)
            if na >= samples:
                break
            nb = min(samples, int((note_t + 1.2) * sample_rate))
            tn = np.arange(na, nb, dtype=np.float32) / np.float32(sample_rate) - np.float32(note_t)
            f = _hz(tones[pattern[i % len(pattern)]] + 12)
            decay = np.exp(-tn / np.float32(0.28)) * np.clip(tn / np.float32(0.004), 0, 1)
            s1, c1 = _oscillator(f, 0.0, tn)
            voice = decay * s1 * (1 + 0.6 * c1)  # sin x + 0.3 sin 2x
            pan = 0.5 + (0.25 if i % 2 else -0.25)
            mix[0, na:nb] += np.float32(0.09 * (1 - pan) * 2) * voice
            mix[1, na:nb] += np.float32(0.09 * pan * 2) * voice

    _drums(mix, beat, chord_len, sample_rate, rng)
    mix = np.tanh(mix * 1.2)
    peak = float(np.max(np.abs(mix))) or 1.0
    mix *= 0.6 / peak
    fade_in = min(samples // 4, int(0.6 * sample_rate))
    fade_out = min(samples // 4, int(1.2 * sample_rate))
    if fade_in:
        mix[:, :fade_in] *= np.linspace(0.0, 1.0, fade_in) ** 2
    if fade_out:
        mix[:, samples - fade_out :] *= np.linspace(1.0, 0.0, fade_out) ** 2
    return np.asarray(mix, dtype=np.float32)  # float32 throughout: no copy


def _oscillator(
    f: float, t0: float, local: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """(sin, cos) of a wave of ``f`` Hz at times ``t0 + local`` seconds, computed in float32.

    The phase reached at ``t0`` is reduced in float64 first, so ``local`` stays short and exact.
    """
    omega = 2 * np.pi * f
    phase = np.float32(omega) * local + np.float32((omega * t0) % (2 * np.pi))
    return np.sin(phase), np.cos(phase)


def _drums(
    mix: npt.NDArray[np.float32], beat: float, bar: float, rate: int, rng: np.random.Generator
) -> None:
    """Add soft percussion to ``mix`` in place: kick, brushed snare and hi-hats from the second bar."""
    samples = mix.shape[1]
    noise = rng.standard_normal(int(0.4 * rate))
    hat_noise = np.diff(noise, prepend=0.0)  # differenced white noise: bright, like a closed hi-hat
    kernel = np.hanning(9)
    snare_noise = np.diff(np.convolve(noise, kernel / kernel.sum(), mode="same"), prepend=0.0)
    swing = float(rng.uniform(0.0, 0.04)) * beat
    accents = rng.uniform(0.7, 1.0, 64)

    def hit(start: float, voice: npt.NDArray[np.float64], level: float, pan: float) -> None:
        a = int(start * rate)
        if a >= samples or a < 0:
            return
        b = min(samples, a + len(voice))
        mix[0, a:b] += level * (1 - pan) * voice[: b - a]
        mix[1, a:b] += level * (1 + pan) * voice[: b - a]

    tk = np.arange(int(0.35 * rate)) / rate
    freq = 48 + 70 * np.exp(-tk / 0.03)  # pitch drops: a soft thump, not a click
    kick = np.sin(2 * np.pi * np.cumsum(freq) / rate) * np.exp(-tk / 0.12) * np.clip(tk / 0.002, 0, 1)
    ts = np.arange(int(0.25 * rate)) / rate
    snare = snare_noise[: len(ts)] * np.exp(-ts / 0.07) * 0.5 + 0.3 * np.sin(2 * np.pi * 190 * ts) * np.exp(
        -ts / 0.04
    )
    th = np.arange(int(0.06 * rate)) / rate
    hat = hat_noise[: len(th)] * np.exp(-th / 0.018)
    i = 0
    t = bar  # the drums come in after the first bar
    while t < samples / rate:
        pos = i % 8  # eighth notes in a bar of four beats
        if pos in (0, 4):
            hit(t, kick, 0.5, 0.0)
        if pos in (2, 6):
            hit(t, snare, 0.1 * accents[i % 64], 0.1)
        hit(t + (swing if pos % 2 else 0.0), hat, 0.05 * accents[(i + 7) % 64], -0.3)
        i += 1
        t += beat / 2
