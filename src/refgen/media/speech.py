"""Offline speech: the lines a prompt speaks, synthesized with eSpeak NG (no model, no network).

``spoken_lines`` picks what is said: the prompt's quoted text (``"…"``, ``“…”``, ``「…」``, ``『…』``,
``‘…’`` and ``'…'`` where the quote marks are not apostrophes), in order, or the whole prompt when
nothing is quoted; subject markers lose their ``@`` (``@subject1`` is read "subject1").

``synthesize`` speaks them with the ``espeak-ng`` command (the Debian package of that name; see
docs/backends.md for why this engine and what it costs): one subprocess per line, text on standard
input, 16-bit WAV on standard output, resampled to the video's rate by FFT. Each line picks its
language from its script (Han → Mandarin, kana → Japanese, Hangul → Korean, else US English); the
voice is one of :data:`VOICES`, chosen by a stable hash of the ``voice_id`` (``""`` → the first).
The engine is deterministic, so the same lines and voice give the same samples.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import shutil
import subprocess

import numpy as np
import numpy.typing as npt

from refgen.errors import BackendError

Audio = npt.NDArray[np.float32]

PROGRAM = "espeak-ng"
WORDS_PER_MINUTE = 160  # eSpeak's own default is 175: a little slower reads more naturally
GAP_SECONDS = 0.35  # silence between two lines
PEAK = 0.8  # the speech is normalised to this peak
TIMEOUT_SECONDS = 30.0

VOICES: tuple[str, ...] = ("m3", "f2", "m1", "f4", "m2", "f1", "m4", "f3", "m7", "f5", "m5", "m6")
"""eSpeak NG's variants that a ``voice_id`` maps to (male ``m…``, female ``f…``); ``""`` → the first."""

_QUOTES = re.compile(
    r"\"(?P<a>[^\"]+)\""  # "..."
    r"|“(?P<b>[^”]+)”"  # “...”
    r"|「(?P<c>[^」]+)」"  # 「...」
    r"|『(?P<d>[^』]+)』"  # 『...』
    r"|‘(?P<e>[^’]+)’"  # ‘...’ (’ inside a word is an apostrophe: it closes only before a non-letter)
    r"|(?<![\w'])'(?P<f>[^'\n]+?)'(?![\w'])"  # '...', but not the apostrophes of don't or the dogs'
)
_MARKER = re.compile(r"(?<![\w@])@(?=\w)")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")


def spoken_lines(prompt: str) -> list[str]:
    """The lines ``prompt`` speaks: its quoted text in order, else the whole prompt; ``@`` markers dropped."""
    quoted = [next(g for g in m.groups() if g is not None) for m in _QUOTES.finditer(prompt)]
    lines = quoted if any(q.strip() for q in quoted) else [prompt]
    cleaned = (" ".join(_MARKER.sub("", line).split()) for line in lines)
    return [line for line in cleaned if line]


def voice_for(voice_id: str) -> str:
    """The variant of :data:`VOICES` that ``voice_id`` names: the same id always gives the same one."""
    if not voice_id:
        return VOICES[0]
    digest = hashlib.sha256(voice_id.encode("utf-8")).digest()
    return VOICES[int.from_bytes(digest[:8], "big") % len(VOICES)]


def language_for(line: str) -> str:
    """eSpeak NG's language for ``line``, from the script it is written in."""
    if _KANA.search(line):
        return "ja"
    if _HAN.search(line):
        return "cmn"
    if _HANGUL.search(line):
        return "ko"
    return "en-us"


@functools.cache
def available() -> bool:
    """Whether speech can be synthesized here (``espeak-ng`` installed and working); probed once."""
    return _works(PROGRAM)


def _works(program: str) -> bool:
    if shutil.which(program) is None:
        return False
    try:
        _, samples = _speak(program, "a", "en-us", VOICES[0], WORDS_PER_MINUTE)
    except BackendError:
        return False
    return samples.size > 0


def synthesize(lines: list[str], voice_id: str, sample_rate: int = 48_000, *, speed: float = 1.0) -> Audio:
    """``lines`` spoken one after another in ``voice_id``'s voice: float32 mono in [-1, 1].

    ``speed`` scales the speaking rate (1.0 = :data:`WORDS_PER_MINUTE`). Lines are separated by
    :data:`GAP_SECONDS` of silence; the result is trimmed of leading and trailing silence and
    normalised to :data:`PEAK`. No lines → an empty array.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample rate {sample_rate} is not positive")
    variant = voice_for(voice_id)
    wpm = max(80, round(WORDS_PER_MINUTE * speed))
    parts: list[Audio] = []
    for line in lines:
        rate, samples = _speak(PROGRAM, line, language_for(line), variant, wpm)
        voiced = _trim(samples)
        if voiced.size == 0:
            continue
        if parts:
            parts.append(np.zeros(round(GAP_SECONDS * sample_rate), np.float32))
        parts.append(_resample(voiced, rate, sample_rate))
    if not parts:
        return np.zeros(0, np.float32)
    speech = np.concatenate(parts)
    peak = float(np.max(np.abs(speech)))
    if peak > 0:
        speech *= np.float32(PEAK / peak)
    return speech


def _speak(program: str, text: str, language: str, variant: str, wpm: int) -> tuple[int, Audio]:
    """One line through ``program``: its sample rate and float32 mono samples."""
    command = [program, "--stdout", "--stdin", "-b", "1", "-v", f"{language}+{variant}", "-s", str(wpm)]
    try:
        done = subprocess.run(
            command, input=text.encode("utf-8"), capture_output=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendError(f"{program} failed: {exc}") from exc
    if done.returncode != 0:
        raise BackendError(
            f"{program} exited with {done.returncode}: {done.stderr.decode(errors='replace')[:200]}"
        )
    return _read_wav(done.stdout)


def _read_wav(data: bytes) -> tuple[int, Audio]:
    """A 16-bit mono PCM WAV as eSpeak writes it to a pipe (its sizes are placeholders: read to the end)."""
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise BackendError("speech synthesizer did not produce a WAV")
    channels = int.from_bytes(data[22:24], "little")
    rate = int.from_bytes(data[24:28], "little")
    bits = int.from_bytes(data[34:36], "little")
    at = data.find(b"data", 36)
    if channels != 1 or bits != 16 or rate <= 0 or at < 0:
        raise BackendError(f"unexpected speech format: {channels} channels, {bits} bits, {rate} Hz")
    body = data[at + 8 :]
    pcm = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2")
    return rate, (pcm.astype(np.float32) / np.float32(32768.0))


def _trim(samples: Audio, threshold: float = 1e-3) -> Audio:
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples[:0]


def _resample(samples: Audio, rate: int, target: int) -> Audio:
    """Band-limited resampling by FFT of a whole line (deterministic).

    The line is padded with silence to a length whose transforms are fast (a multiple of the
    rates' reduced ratio times a 2-3-5-smooth number; a raw length can be a large prime) and whose
    resampled length is whole; the padding also keeps the end from wrapping round to the start.
    """
    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    common = math.gcd(rate, target)
    up, down = target // common, rate // common
    blocks = _smooth(-(-(samples.size + rate // 50) // down))
    padded = np.zeros(blocks * down, np.float64)
    padded[: samples.size] = samples
    out = np.fft.irfft(np.fft.rfft(padded), blocks * up) * (up / down)
    return out[: max(1, round(samples.size * target / rate))].astype(np.float32)


def _smooth(n: int) -> int:
    """The smallest number ≥ ``n`` with no prime factor above 5."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1
