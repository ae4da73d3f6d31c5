from __future__ import annotations

import numpy as np
import pytest

from refgen.media import speech
from refgen.media.speech import VOICES, language_for, spoken_lines, synthesize, voice_for
from tests.unit.media.speech_checks import need_speech, voiced_share, zero_crossings_per_second

RATE = 48_000


@pytest.mark.parametrize(
    ("prompt", "lines"),
    [
        ('He says "Hello there" and she answers "Fine".', ["Hello there", "Fine"]),
        ("She whispers “come closer”, then “now”.", ["come closer", "now"]),
        ("他说「你好，世界」然后『再见』", ["你好，世界", "再见"]),
        ("‘Curly single’ opens the scene", ["Curly single"]),
        ("Tom's dog barks 'Woof, woof!' at the dogs' bowls", ["Woof, woof!"]),
        ("\"First\" then 'second' then “third”", ["First", "second", "third"]),
    ],
)
def test_spoken_lines_are_the_quoted_text_in_order(prompt: str, lines: list[str]) -> None:
    assert spoken_lines(prompt) == lines


def test_spoken_lines_are_the_whole_prompt_when_nothing_is_quoted() -> None:
    assert spoken_lines("  A cat   naps\nin the sun ") == ["A cat naps in the sun"]
    assert spoken_lines("It's the dogs' day, isn't it") == ["It's the dogs' day, isn't it"]
    assert spoken_lines('Nothing said: ""') == ['Nothing said: ""']


def test_spoken_lines_drop_subject_markers_at_sign() -> None:
    assert spoken_lines("@subject1 waves at @subject2") == ["subject1 waves at subject2"]
    assert spoken_lines('@hero says "follow @guide now"') == ["follow guide now"]
    assert spoken_lines("write to team@example.com") == ["write to team@example.com"]


def test_spoken_lines_of_an_empty_prompt_are_none() -> None:
    assert spoken_lines("") == [] and spoken_lines("   ") == []


def test_voice_for_maps_every_id_to_one_voice_the_same_each_time() -> None:
    assert voice_for("") == VOICES[0]
    ids = [f"voice-{i}" for i in range(40)]
    mapped = [voice_for(i) for i in ids]
    assert mapped == [voice_for(i) for i in ids]
    assert set(mapped) <= set(VOICES)
    assert len(set(mapped)) >= len(VOICES) // 2  # ids spread over the voices


def test_language_for_reads_the_script() -> None:
    assert language_for("hello") == "en-us"
    assert language_for("你好") == "cmn"
    assert language_for("こんにちは世界") == "ja"
    assert language_for("안녕하세요") == "ko"


def test_synthesize_is_deterministic_mono_float32() -> None:
    need_speech()
    a = synthesize(["Hello there.", "How are you today?"], "narrator", RATE)
    assert a.dtype == np.float32 and a.ndim == 1
    assert 0.5 * RATE < a.size < 5 * RATE
    assert 0.5 < float(np.abs(a).max()) <= speech.PEAK + 1e-6
    assert np.array_equal(a, synthesize(["Hello there.", "How are you today?"], "narrator", RATE))


def test_synthesize_sounds_like_a_voice() -> None:
    need_speech()
    a = synthesize(["The weather is lovely this morning, and we are going for a walk."], "", RATE)
    assert voiced_share(a, RATE) > 0.4
    assert 300 < zero_crossings_per_second(a, RATE) < 6000  # white noise: ~24000


def test_synthesize_voice_ids_pick_different_voices() -> None:
    need_speech()
    other_id = next(v for v in ("b", "c", "d", "e", "f") if voice_for(v) != voice_for("a"))
    one = synthesize(["Good morning"], "a", RATE)
    other = synthesize(["Good morning"], other_id, RATE)
    assert one.size != other.size or not np.allclose(one, other, atol=1e-3)


def test_synthesize_follows_the_sample_rate_and_speed() -> None:
    need_speech()
    line = ["A short sentence to measure."]
    at48 = synthesize(line, "", 48_000)
    at24 = synthesize(line, "", 24_000)
    assert abs(at48.size / at24.size - 2.0) < 0.01
    faster = synthesize(line, "", 48_000, speed=1.3)
    assert faster.size < 0.9 * at48.size


def test_synthesize_of_no_lines_is_empty() -> None:
    assert synthesize([], "x", RATE).size == 0


def test_synthesize_speaks_chinese() -> None:
    need_speech()
    assert synthesize(["你好，世界"], "", RATE).size > 0.3 * RATE
