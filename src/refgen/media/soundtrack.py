"""A video's soundtrack: music (``bgm``), speech (``audio``) over a bed, fitted to the video's length.

- ``bgm`` only: the seeded music of :mod:`refgen.media.music`, as before.
- ``audio``: the prompt's spoken lines (:mod:`refgen.media.speech`) in front, starting
  :data:`LEAD_SECONDS` after the start (a tenth of the video when that is shorter), over the music
  when ``bgm`` is set, else over a quiet seeded room-tone bed (:func:`ambience`). The bed is ducked
  under the speech (about -10 dB, with a short hold so it does not pump between words) and comes
  back up after it.
- Speech longer than the video (less the lead-in and :data:`TAIL_SECONDS`) is first spoken faster,
  up to :data:`MAX_SPEED` times the normal rate; if that is still too long, the last words are left
  out: the speech stops at a word boundary (a character boundary in Chinese and Japanese), with the
  words that fit spoken whole. Same job → same samples.
"""

from __future__ import annotations

import numpy as np

from refgen.errors import BackendError
from refgen.generation import GenerationJob
from refgen.media import speech
from refgen.media.music import Audio, synthesize_music

LEAD_SECONDS = 0.4  # silence before the first word
TAIL_SECONDS = 0.25  # the speech ends at least this long before the video does
MAX_SPEED = 1.3  # speech is never spoken faster than this (× the normal rate)
DUCK = 0.7  # the bed loses this share of its level under speech (≈ -10 dB)
SPEECH_LEVEL = 0.9
AMBIENCE_RMS = 0.012  # the quiet bed's level (≈ -38 dBFS)
_WINDOW_SECONDS = 0.02
_HOLD_SECONDS = 0.25
_GLIDE_SECONDS = 0.12


def soundtrack(job: GenerationJob, sample_rate: int) -> Audio | None:
    """The job's soundtrack, stereo ``(2, samples)`` of the video's length, or None without one."""
    if not (job.bgm or job.audio):
        return None
    samples = job.frame_count * sample_rate // job.fps
    if job.bgm:
        bed = synthesize_music(samples, job.seed, sample_rate)
    else:
        bed = ambience(samples, job.seed, sample_rate)
    if not job.audio:
        return bed
    if not speech.available():
        raise BackendError(f"speech synthesis is not available here: install {speech.PROGRAM}")
    lead = speech_start(samples, sample_rate)
    room = samples - lead - min(round(TAIL_SECONDS * sample_rate), samples // 10)
    voiced = fit_speech(speech.spoken_lines(job.prompt), voice_of(job), room, sample_rate)
    return mix_speech(bed, voiced, lead, sample_rate)


def speech_start(samples: int, sample_rate: int) -> int:
    """The sample the speech starts at: :data:`LEAD_SECONDS` in, or a tenth of a very short video."""
    return min(round(LEAD_SECONDS * sample_rate), samples // 10)


def voice_of(job: GenerationJob) -> str:
    """The job's ``voice_id``, else the first subject's that has one, else ``""`` (the default voice)."""
    if job.voice_id:
        return job.voice_id
    return next((s.voice_id for s in job.subjects if s.voice_id), "")


def fit_speech(lines: list[str], voice_id: str, room: int, sample_rate: int) -> Audio:
    """``lines`` spoken in at most ``room`` samples: faster (≤ :data:`MAX_SPEED`), then cut at a word."""
    if room <= 0 or not lines:
        return np.zeros(0, np.float32)
    spoken = speech.synthesize(lines, voice_id, sample_rate)
    if spoken.size <= room:
        return spoken
    speed = min(MAX_SPEED, spoken.size / room * 1.03)  # eSpeak's rate is not exactly proportional
    spoken = speech.synthesize(lines, voice_id, sample_rate, speed=speed)
    if spoken.size <= room:
        return spoken
    tokens = _tokens(lines)
    best = np.zeros(0, np.float32)
    low, high = 1, len(tokens) - 1  # the longest prefix of words that fits, by bisection
    while low <= high:
        middle = (low + high) // 2
        attempt = speech.synthesize(_prefix(tokens, middle), voice_id, sample_rate, speed=MAX_SPEED)
        if attempt.size <= room:
            best, low = attempt, middle + 1
        else:
            high = middle - 1
    if best.size:
        return best
    # not even the first word fits (a very short video): its start, faded out
    cut = speech.synthesize(_prefix(tokens, 1), voice_id, sample_rate, speed=MAX_SPEED)[:room].copy()
    fade = min(cut.size, round(0.05 * sample_rate))
    cut[cut.size - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return cut


def _tokens(lines: list[str]) -> list[tuple[int, str, str]]:
    """(line index, word, joiner) for every word; lines in a script without spaces split per character."""
    out: list[tuple[int, str, str]] = []
    for i, line in enumerate(lines):
        words = line.split()
        if len(words) == 1 and speech.language_for(line) != "en-us":
            out.extend((i, ch, "") for ch in line)
        else:
            out.extend((i, word, " ") for word in words)
    return out


def _prefix(tokens: list[tuple[int, str, str]], count: int) -> list[str]:
    lines: dict[int, str] = {}
    for i, word, joiner in tokens[:count]:
        lines[i] = lines[i] + joiner + word if i in lines else word
    return list(lines.values())


def mix_speech(bed: Audio, voiced: Audio, start: int, sample_rate: int) -> Audio:
    """``voiced`` (mono) laid over ``bed`` (stereo) from sample ``start``, the bed ducked under it."""
    samples = bed.shape[1]
    track = np.zeros(samples, np.float32)
    end = min(samples, start + voiced.size)
    if end > start:
        track[start:end] = voiced[: end - start]
    gain = 1.0 - DUCK * _speaking(track, sample_rate)
    mix = bed * gain[None, :] + np.float32(SPEECH_LEVEL) * track[None, :]
    peak = float(np.max(np.abs(mix))) if mix.size else 0.0
    if peak > 0.99:
        mix *= np.float32(0.99 / peak)
    return np.asarray(mix, dtype=np.float32)


def _speaking(track: Audio, sample_rate: int) -> Audio:
    """0..1 per sample: 1 while speech is heard (with a hold over short pauses), gliding in between."""
    window = max(1, round(_WINDOW_SECONDS * sample_rate))
    count = -(-track.size // window)
    padded = np.zeros(count * window, np.float32)
    padded[: track.size] = track
    rms = np.sqrt(np.mean(padded.reshape(count, window) ** 2, axis=1))
    loud = (rms > 0.02).astype(np.float32)
    hold = max(1, round(_HOLD_SECONDS / _WINDOW_SECONDS))
    held = np.convolve(loud, np.ones(2 * hold + 1, np.float32), mode="same") > 0
    glide = max(1, round(_GLIDE_SECONDS / _WINDOW_SECONDS))
    smooth = np.convolve(held.astype(np.float32), np.ones(glide, np.float32) / glide, mode="same")
    per_sample = np.repeat(smooth, window)[: track.size]
    return np.asarray(per_sample, dtype=np.float32)


def ambience(samples: int, seed: int, sample_rate: int = 48_000) -> Audio:
    """A quiet seeded room tone (soft low-passed noise, slowly breathing), stereo, faded in and out."""
    if samples <= 0:
        return np.zeros((2, 0), np.float32)
    rng = np.random.default_rng([seed, 0xA3B1])
    noise = rng.standard_normal((2, samples)).astype(np.float32)
    spectrum = np.fft.rfft(noise, axis=1)
    freqs = np.fft.rfftfreq(samples, 1.0 / sample_rate)
    shape = 1.0 / np.sqrt(1.0 + (freqs / 180.0) ** 2)  # warm: most of the energy below a few hundred Hz
    shape[freqs < 25.0] = 0.0
    bed = np.fft.irfft(spectrum * shape[None, :], samples, axis=1).astype(np.float32)
    t = np.arange(samples, dtype=np.float32) / np.float32(sample_rate)
    bed *= 1.0 + 0.25 * np.sin(2 * np.pi * float(rng.uniform(0.05, 0.12)) * t)[None, :]
    rms = float(np.sqrt(np.mean(bed**2))) or 1.0
    bed *= np.float32(AMBIENCE_RMS / rms)
    fade = min(samples // 4, round(0.5 * sample_rate))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        bed[:, :fade] *= ramp
        bed[:, samples - fade :] *= ramp[::-1]
    return np.asarray(bed, dtype=np.float32)
