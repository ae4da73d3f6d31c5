"""Request parsing details the conformance vectors do not pin."""

from __future__ import annotations

import pytest

from refgen.contract.requests import parse_create
from refgen.domain import TaskKind
from refgen.errors import FieldInvalid, FieldLacking, ModelUnavailable

IMG = "https://example.com/a.png"


def video(**fields: object) -> dict[str, object]:
    return {"model": "vidu1.5", "images": [IMG], "prompt": "p", **fields}


def test_parse_seed_zero_or_missing_is_random_and_fixed_seed_kept() -> None:
    assert parse_create(TaskKind.VIDEO, video(), seed_source=lambda: 99).spec.seed == 99
    assert parse_create(TaskKind.VIDEO, video(seed="0"), seed_source=lambda: 98).spec.seed == 98
    assert parse_create(TaskKind.VIDEO, video(seed="2147483647")).spec.seed == 2147483647


def test_parse_lenient_types_and_nulls() -> None:
    spec = parse_create(
        TaskKind.VIDEO,
        video(duration="8", bgm="TRUE", off_peak=None, watermark="false", wm_position="2", resolution=None),
    ).spec
    assert (spec.duration, spec.bgm, spec.off_peak, spec.watermark, spec.wm_position) == (
        8,
        True,
        False,
        False,
        2,
    )
    assert spec.resolution == "720p" and spec.credits == 20


@pytest.mark.parametrize("value", [True, 4.5, "4.0", [4], {"d": 4}])
def test_parse_refuses_non_integers(value: object) -> None:
    with pytest.raises(FieldInvalid, match="duration"):
        parse_create(TaskKind.VIDEO, video(duration=value))


def test_parse_messages_name_the_field_and_index() -> None:
    with pytest.raises(FieldInvalid, match=r"images\[1\]"):
        parse_create(TaskKind.VIDEO, video(images=[IMG, "ftp://x/y.png"]))
    with pytest.raises(FieldLacking, match="field is missing or empty: prompt"):
        parse_create(TaskKind.VIDEO, video(prompt="   "))


def test_parse_model_not_in_model_map_is_unavailable() -> None:
    with pytest.raises(ModelUnavailable):
        parse_create(TaskKind.VIDEO, video(), served_models={"viduq1"})


def test_parse_image_ignores_video_only_fields() -> None:
    spec = parse_create(
        TaskKind.IMAGE, {"model": "viduq2", "prompt": "p", "bgm": "nonsense", "off_peak": True}
    ).spec
    assert spec.bgm is False and spec.off_peak is False and spec.credits == 1 and spec.duration is None


def test_parse_callback_and_wm_urls() -> None:
    request = parse_create(
        TaskKind.VIDEO, video(callback_url="https://hooks.example/x?a=1", watermark=True, wm_url=IMG)
    )
    assert request.spec.callback_url == "https://hooks.example/x?a=1" and request.wm_url == IMG
    with pytest.raises(FieldInvalid, match="wm_url"):
        parse_create(TaskKind.VIDEO, video(wm_url="nope"))


def test_parse_body_must_be_an_object() -> None:
    with pytest.raises(FieldInvalid):
        parse_create(TaskKind.VIDEO, ["model"])
