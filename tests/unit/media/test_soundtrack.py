from __future__ import annotations

from dataclasses import replace

import numpy as np

from refgen.domain import TaskKind
from refgen.generation import GenerationJob, SubjectReferences
from refgen.media import speech
from refgen.media.music import synthesize_music
from refgen.media.soundtrack import (
    AMBIENCE_RMS,
    ambience,
    fit_speech,
    mix_speech,
    soundtrack,
    speech_start,
    voice_of,
)
from tests.unit.media.speech_checks import need_speech, voiced_share, window_rms

RATE = 48_000
LONG = (
    "The astronaut walks slowly across the red dunes, looking back at the small ship, and says that "
    "the storm will arrive before nightfall, so everyone must hurry back inside and close the hatch."
)


def _job(**changes: object) -> GenerationJob:
    job = GenerationJob("t", TaskKind.VIDEO, "viduq1", 'She says "Hello there, friend"', (), 64, 64, 3, 3)
    return replace(job, **changes)  # type: ignore[arg-type]


def _mono(stereo: np.ndarray) -> np.ndarray:
    return np.asarray(stereo.mean(axis=0))


def test_soundtrack_none_without_bgm_or_audio() -> None:
    assert soundtrack(_job(), RATE) is None


def test_soundtrack_bgm_only_is_the_music() -> None:
    out = soundtrack(_job(bgm=True), RATE)
    assert out is not None and np.array_equal(out, synthesize_music(3 * RATE, 3, RATE))


def test_ambience_is_quiet_seeded_and_exact_length() -> None:
    bed = ambience(2 * RATE + 5, 9, RATE)
    assert bed.shape == (2, 2 * RATE + 5) and bed.dtype == np.float32
    assert np.array_equal(bed, ambience(2 * RATE + 5, 9, RATE))
    assert not np.array_equal(bed, ambience(2 * RATE + 5, 10, RATE))
    middle = bed[:, RATE // 2 : 3 * RATE // 2]
    assert 0.3 * AMBIENCE_RMS < float(np.sqrt(np.mean(middle**2))) < 3 * AMBIENCE_RMS
    assert float(np.abs(bed[:, :50]).max()) < 0.002  # faded in


def test_mix_speech_ducks_the_bed_under_the_speech() -> None:
    t = np.arange(4 * RATE) / RATE
    bed = np.stack([0.3 * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32)
    voice = (0.8 * np.sin(2 * np.pi * 150 * t[:RATE])).astype(np.float32)
    mixed = mix_speech(bed, voice, RATE, RATE)
    assert mixed.shape == bed.shape and mixed.dtype == np.float32
    before = mixed[0, : RATE // 2]
    assert np.allclose(before, bed[0, : RATE // 2])  # untouched before the speech
    # during the speech the 440 Hz bed is much quieter than before: measure it alone by subtraction
    under = (
        mixed[0, RATE + RATE // 4 : RATE + 3 * RATE // 4]
        - 0.9 * np.pad(voice, (RATE, 2 * RATE))[RATE + RATE // 4 : RATE + 3 * RATE // 4]
    )
    assert float(np.sqrt(np.mean(under**2))) < 0.45 * float(np.sqrt(np.mean(before**2)))
    after = mixed[0, 3 * RATE :]
    assert np.allclose(after, bed[0, 3 * RATE :])  # back up after it


def test_voice_of_prefers_the_job_then_the_first_subject_with_one() -> None:
    subjects = (SubjectReferences("a", ()), SubjectReferences("b", (), "deep"))
    assert voice_of(_job(voice_id="bright", subjects=subjects)) == "bright"
    assert voice_of(_job(subjects=subjects)) == "deep"
    assert voice_of(_job()) == ""


def test_soundtrack_speech_starts_after_a_short_silence_and_is_voiced() -> None:
    need_speech()
    out = soundtrack(_job(audio=True, seed=4), RATE)
    assert out is not None and out.shape == (2, 3 * RATE) and out.dtype == np.float32
    assert np.array_equal(out, soundtrack(_job(audio=True, seed=4), RATE))
    rms = window_rms(_mono(out), RATE)
    start = speech_start(3 * RATE, RATE)
    assert start >= RATE // 4
    lead = start // round(0.02 * RATE)
    silence = float(rms[: lead - 1].max())
    speaking = rms[lead : lead + 40]
    assert float(np.median(speaking)) > 10 * silence
    assert voiced_share(_mono(out)[start:], RATE) > 0.4


def test_soundtrack_speech_over_music_with_bgm() -> None:
    need_speech()
    music = synthesize_music(3 * RATE, 3, RATE)
    out = soundtrack(_job(audio=True, bgm=True), RATE)
    assert out is not None and out.shape == music.shape
    assert not np.allclose(out, music, atol=0.01)
    # the music is still there after the speech
    assert float(np.abs(out[:, -RATE // 2 :] - music[:, -RATE // 2 :]).max()) < 0.02


def test_fit_speech_speeds_up_a_little_too_long_line_and_keeps_every_word() -> None:
    need_speech()
    natural = speech.synthesize([LONG], "", RATE)
    room = int(natural.size / 1.15)
    fitted = fit_speech([LONG], "", room, RATE)
    assert 0 < fitted.size <= room
    faster = speech.synthesize([LONG], "", RATE, speed=1.15 * 1.03)
    assert fitted.size == faster.size  # spoken faster, not cut


def test_fit_speech_cuts_a_far_too_long_line_at_a_word() -> None:
    need_speech()
    room = 2 * RATE
    fitted = fit_speech([LONG], "", room, RATE)
    assert 0.5 * room < fitted.size <= room
    words = LONG.split()
    prefixes = {speech.synthesize([" ".join(words[:k])], "", RATE, speed=1.3).size for k in range(1, 15)}
    assert fitted.size in prefixes  # exactly the first few words, spoken whole


def test_fit_speech_of_nothing_or_no_room_is_silence() -> None:
    assert fit_speech([], "", RATE, RATE).size == 0
    assert fit_speech(["hello"], "", 0, RATE).size == 0
