"""Parsing the video family's bodies: the subjects form, text/img/start-end2video, audio, credits."""

from __future__ import annotations

from typing import Any

import pytest

from refgen.contract.catalogue import CATALOGUE, PUBLIC_MODELS, catalogue_as_json, lookup, with_credits
from refgen.contract.requests import parse_create
from refgen.domain import Subject, TaskKind
from refgen.errors import (
    FieldInvalid,
    FieldItemCountOutOfRange,
    FieldLacking,
    FieldUnwanted,
    RequestError,
)

IMG = "https://example.com/a.png"
R2V, T2V, I2V, SE2V = (
    TaskKind.VIDEO,
    TaskKind.TEXT_TO_VIDEO,
    TaskKind.IMAGE_TO_VIDEO,
    TaskKind.START_END_TO_VIDEO,
)


def subjects(*counts: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "viduq2",
        "subjects": [{"id": f"s{i}", "images": [IMG] * n} for i, n in enumerate(counts)],
        "prompt": "@s0 waves",
    }
    return {**body, **extra}


def refused(kind: TaskKind, body: dict[str, Any], error: type[RequestError], field: str) -> None:
    with pytest.raises(error) as caught:
        parse_create(kind, body)
    assert type(caught.value) is error
    assert caught.value.field == field, caught.value.message
    assert field in caught.value.message


# --- the subjects form -------------------------------------------------------------------------------


def test_parse_subjects_flattens_pictures_in_order_and_names_their_places() -> None:
    body = subjects(2, 1)
    body["subjects"][1]["voice_id"] = "host"
    body["subjects"][0]["images"] = ["https://example.com/0.png", "https://example.com/1.png"]
    request = parse_create(R2V, body)
    assert request.images == ("https://example.com/0.png", "https://example.com/1.png", IMG)
    assert request.image_fields == ("subjects[0].images[0]", "subjects[0].images[1]", "subjects[1].images[0]")
    assert request.spec.subjects == (Subject("s0", 2, ""), Subject("s1", 1, "host"))
    assert request.spec.image_count == 3


def test_parse_plain_form_names_images_by_index() -> None:
    request = parse_create(R2V, {"model": "viduq2", "images": [IMG, IMG], "prompt": "p"})
    assert [request.field_of(i) for i in range(2)] == ["images[0]", "images[1]"]
    assert request.spec.subjects == ()


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"images": [IMG]}, FieldUnwanted, "images"),
        ({"subjects": [{"images": [IMG]}]}, FieldLacking, "subjects[0].id"),
        ({"subjects": [{"id": "", "images": [IMG]}]}, FieldLacking, "subjects[0].id"),
        ({"subjects": [{"id": 7, "images": [IMG]}]}, FieldInvalid, "subjects[0].id"),
        ({"subjects": [{"id": "a b", "images": [IMG]}]}, FieldInvalid, "subjects[0].id"),
        ({"subjects": [{"id": "a\tb", "images": [IMG]}]}, FieldInvalid, "subjects[0].id"),
        ({"subjects": [{"id": "@a", "images": [IMG]}]}, FieldInvalid, "subjects[0].id"),
        ({"subjects": [{"id": "a" * 65, "images": [IMG]}]}, FieldInvalid, "subjects[0].id"),
        (
            {"subjects": [{"id": "a", "images": [IMG]}, {"id": "a", "images": [IMG]}]},
            FieldInvalid,
            "subjects[1].id",
        ),
        ({"subjects": [{"id": "a", "images": [IMG]}, {"id": "b"}]}, FieldLacking, "subjects[1].images"),
        ({"subjects": [{"id": "a", "images": []}]}, FieldLacking, "subjects[0].images"),
        ({"subjects": [{"id": "a", "images": IMG}]}, FieldInvalid, "subjects[0].images"),
        ({"subjects": [{"id": "a", "images": [IMG] * 4}]}, FieldItemCountOutOfRange, "subjects[0].images"),
        (
            {"subjects": [{"id": "a", "images": [IMG, "ftp://x/y.png"]}]},
            FieldInvalid,
            "subjects[0].images[1]",
        ),
        (
            {"subjects": [{"id": "a", "images": [IMG], "voice_id": "v" * 129}]},
            FieldInvalid,
            "subjects[0].voice_id",
        ),
        ({"subjects": [{"id": "a", "images": [IMG], "voice_id": 3}]}, FieldInvalid, "subjects[0].voice_id"),
        ({"subjects": ["a"]}, FieldInvalid, "subjects[0]"),
        ({"subjects": {"id": "a"}}, FieldInvalid, "subjects"),
        (
            {"subjects": [{"id": str(i), "images": [IMG]} for i in range(8)]},
            FieldItemCountOutOfRange,
            "subjects",
        ),
        ({"prompt": "a" * 2001}, FieldInvalid, "prompt"),
        ({"prompt": ""}, FieldLacking, "prompt"),
    ],
)
def test_parse_subjects_refusals_name_the_place(
    change: dict[str, Any], error: type[RequestError], field: str
) -> None:
    refused(R2V, subjects(1, **change), error, field)


def test_parse_subjects_count_images_across_subjects() -> None:
    assert parse_create(R2V, subjects(3, 3, 1)).spec.image_count == 7
    refused(R2V, subjects(3, 3, 2), FieldItemCountOutOfRange, "subjects")
    assert len(parse_create(R2V, subjects(*[1] * 7)).spec.subjects) == 7


@pytest.mark.parametrize("empty", [[], None])
def test_parse_empty_subjects_without_images_is_lacking_subjects(empty: object) -> None:
    refused(R2V, {"model": "viduq2", "subjects": empty, "prompt": "p"}, FieldLacking, "subjects")
    request = parse_create(R2V, {"model": "viduq2", "subjects": empty, "images": [IMG], "prompt": "p"})
    assert request.spec.subjects == () and request.images == (IMG,)


def test_parse_without_images_or_subjects_is_lacking_images() -> None:
    refused(R2V, {"model": "viduq2", "prompt": "p"}, FieldLacking, "images")


@pytest.mark.parametrize("empty", [[], None])
def test_parse_empty_images_beside_subjects_is_ignored(empty: object) -> None:
    assert parse_create(R2V, subjects(1, images=empty)).images == (IMG,)


def test_parse_subjects_form_allows_2000_characters_for_every_model() -> None:
    for model in ("viduq1", "vidu2.0", "vidu1.5"):
        assert len(parse_create(R2V, subjects(1, model=model, prompt="a" * 2000)).spec.prompt) == 2000
        refused(R2V, {"model": model, "images": [IMG], "prompt": "a" * 1501}, FieldInvalid, "prompt")


@pytest.mark.parametrize("model", ["viduq2-pro", "viduq2-pro-fast"])
def test_parse_q2_pro_reference_models_refuse_videos(model: str) -> None:
    body = {"model": model, "images": [IMG], "prompt": "p"}
    assert parse_create(R2V, {**body, "videos": []}).spec.model == model
    refused(R2V, {**body, "videos": ["https://example.com/v.mp4"]}, FieldUnwanted, "videos")
    assert parse_create(R2V, {**body, "model": "viduq2", "videos": ["x"]}).spec.model == "viduq2"


# --- text2video, img2video, start-end2video ---------------------------------------------------------


def test_parse_text2video_defaults_and_ignores_images() -> None:
    request = parse_create(T2V, {"model": "viduq1", "prompt": "p", "images": ["nonsense"]})
    spec = request.spec
    assert request.images == () and spec.image_count == 0
    assert (spec.duration, spec.resolution, spec.aspect_ratio, spec.style, spec.audio) == (
        5,
        "1080p",
        "16:9",
        "general",
        False,
    )


def test_parse_text2video_style_is_validated() -> None:
    assert parse_create(T2V, {"model": "viduq2", "prompt": "p", "style": "anime"}).spec.style == "anime"
    refused(T2V, {"model": "viduq2", "prompt": "p", "style": "oil"}, FieldInvalid, "style")


@pytest.mark.parametrize(
    ("kind", "body", "error", "field"),
    [
        (I2V, {"model": "viduq1"}, FieldLacking, "images"),
        (I2V, {"model": "viduq1", "images": [IMG, IMG]}, FieldItemCountOutOfRange, "images"),
        (SE2V, {"model": "viduq1", "images": [IMG]}, FieldItemCountOutOfRange, "images"),
        (SE2V, {"model": "viduq1", "images": [IMG] * 3}, FieldItemCountOutOfRange, "images"),
        (SE2V, {"model": "viduq1", "images": []}, FieldLacking, "images"),
        (I2V, {"model": "viduq2", "images": [IMG]}, FieldInvalid, "model"),
        (T2V, {"model": "viduq2-pro", "prompt": "p"}, FieldInvalid, "model"),
        (T2V, {"model": "viduq4-preview", "prompt": "p"}, FieldInvalid, "model"),
        (T2V, {"model": "viduq1"}, FieldLacking, "prompt"),
        (I2V, {"model": "viduq2-pro", "images": [IMG], "prompt": "a" * 2001}, FieldInvalid, "prompt"),
        (I2V, {"model": "viduq3-pro", "images": [IMG], "prompt": "a" * 5001}, FieldInvalid, "prompt"),
        (I2V, {"model": "viduq2-turbo", "images": [IMG], "voice_id": "v" * 129}, FieldInvalid, "voice_id"),
        (I2V, {"model": "viduq2-turbo", "images": [IMG], "is_rec": "maybe"}, FieldInvalid, "is_rec"),
    ],
)
def test_parse_frame_and_text_refusals(
    kind: TaskKind, body: dict[str, Any], error: type[RequestError], field: str
) -> None:
    refused(kind, body, error, field)


def test_parse_img2video_prompt_is_optional_and_aspect_ratio_ignored() -> None:
    spec = parse_create(I2V, {"model": "viduq1", "images": [IMG], "prompt": "", "aspect_ratio": "21:1"}).spec
    assert spec.prompt == "" and spec.aspect_ratio == "auto"
    assert parse_create(SE2V, {"model": "viduq1", "images": [IMG, IMG], "prompt": "  "}).spec.prompt == "  "


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        (T2V, {"model": "vidu1.5", "prompt": "p", "duration": 8, "resolution": "1080p"}, "resolution"),
        (T2V, {"model": "vidu1.5", "prompt": "p", "duration": 5}, "duration"),
        (T2V, {"model": "vidu1.5", "prompt": "p", "duration": 5, "resolution": "720p"}, "duration"),
        (I2V, {"model": "viduq2-pro-fast", "images": [IMG], "resolution": "540p"}, "resolution"),
        (SE2V, {"model": "viduq2-pro", "images": [IMG, IMG], "duration": 9}, "duration"),
        (I2V, {"model": "viduq3-turbo", "images": [IMG], "resolution": "2K"}, "resolution"),
        (SE2V, {"model": "viduq3-pro", "images": [IMG, IMG], "resolution": "2K"}, "resolution"),
    ],
)
def test_parse_combination_outside_the_table_names_the_field_sent(
    kind: TaskKind, body: dict[str, Any], field: str
) -> None:
    refused(kind, body, FieldInvalid, field)


def test_parse_resolution_default_follows_the_duration() -> None:
    assert parse_create(T2V, {"model": "vidu1.5", "prompt": "p", "duration": 8}).spec.resolution == "720p"
    assert parse_create(I2V, {"model": "vidu2.0", "images": [IMG]}).spec.resolution == "360p"


# --- audio, off_peak, speaking backends ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "model", "images", "default"),
    [
        (T2V, "viduq3-pro", 0, True),
        (T2V, "viduq2", 0, False),
        (I2V, "viduq3-turbo", 1, True),
        (I2V, "viduq1", 1, False),
        (SE2V, "viduq3-pro", 2, True),
        (R2V, "viduq2", 1, False),
    ],
)
def test_parse_audio_default_is_true_on_q3_only(
    kind: TaskKind, model: str, images: int, default: bool
) -> None:
    body = {"model": model, "images": [IMG] * images, "prompt": "p"}
    assert parse_create(kind, body).spec.audio is default


@pytest.mark.parametrize(
    ("kind", "model", "images", "allowed"),
    [
        (T2V, "viduq2", 0, False),
        (T2V, "viduq1", 0, False),
        (T2V, "viduq3-turbo", 0, True),
        (SE2V, "viduq2-pro", 2, False),
        (SE2V, "viduq3-turbo", 2, True),
        (I2V, "vidu1.5", 1, True),
        (R2V, "vidu2.0", 1, True),
    ],
)
def test_parse_audio_availability_per_endpoint(
    kind: TaskKind, model: str, images: int, allowed: bool
) -> None:
    body = {"model": model, "images": [IMG] * images, "prompt": "p", "audio": "true"}
    if allowed:
        assert parse_create(kind, body).spec.audio is True
    else:
        refused(kind, body, FieldInvalid, "audio")


def test_parse_audio_with_off_peak_is_refused_except_on_q3() -> None:
    refused(
        I2V,
        {"model": "viduq2-pro", "images": [IMG], "audio": True, "off_peak": True},
        FieldInvalid,
        "off_peak",
    )
    spec = parse_create(T2V, {"model": "viduq3-pro", "prompt": "p", "off_peak": True}).spec
    assert spec.audio and spec.off_peak and spec.credits == 8
    assert parse_create(I2V, {"model": "viduq2-pro", "images": [IMG], "off_peak": True}).spec.off_peak


def test_parse_audio_refused_where_the_backend_cannot_speak() -> None:
    body = {"model": "viduq2-turbo", "images": [IMG], "audio": True}
    with pytest.raises(FieldInvalid, match="cannot speak") as caught:
        parse_create(I2V, body, speaking_models=set())
    assert caught.value.field == "audio"
    assert parse_create(I2V, body, speaking_models={"viduq2-turbo"}).spec.audio is True
    assert parse_create(I2V, {**body, "audio": False}, speaking_models=set()).spec.audio is False


def test_parse_q3_default_audio_is_off_where_the_backend_cannot_speak() -> None:
    spec = parse_create(T2V, {"model": "viduq3-pro", "prompt": "p"}, speaking_models=frozenset()).spec
    assert spec.audio is False and spec.credits == 15


def test_parse_keeps_voice_id_and_is_rec() -> None:
    spec = parse_create(
        I2V, {"model": "viduq1", "images": [IMG], "voice_id": "narrator", "is_rec": "true"}
    ).spec
    assert spec.voice_id == "narrator" and spec.is_rec and spec.credits == 9
    assert parse_create(T2V, {"model": "viduq1", "prompt": "p", "is_rec": True}).spec.is_rec is False


# --- credits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body", "credits"),
    [
        (T2V, {"model": "viduq2", "prompt": "p", "duration": 5, "resolution": "720p"}, 5),
        (
            I2V,
            {"model": "viduq2-turbo", "images": [IMG], "duration": 5, "resolution": "720p", "audio": True},
            7,
        ),
        (T2V, {"model": "viduq3-pro", "prompt": "p"}, 15),
        (T2V, {"model": "viduq3-pro", "prompt": "p", "off_peak": True}, 8),
        (SE2V, {"model": "viduq2-pro-fast", "images": [IMG, IMG], "duration": 8, "resolution": "1080p"}, 16),
        (I2V, {"model": "viduq3-pro", "images": [IMG], "resolution": "2K"}, 25),
        (I2V, {"model": "vidu2.0", "images": [IMG], "duration": 8}, 10),
        (I2V, {"model": "vidu2.0", "images": [IMG], "resolution": "1080p"}, 10),
        (SE2V, {"model": "vidu1.5", "images": [IMG, IMG], "resolution": "720p"}, 10),
        (T2V, {"model": "viduq3-turbo", "prompt": "p", "duration": 16, "resolution": "1080p"}, 32),
        (T2V, {"model": "viduq3-turbo", "prompt": "p", "resolution": "540p", "audio": False}, 5),
        (
            I2V,
            {"model": "viduq2-pro", "images": [IMG], "resolution": "1080p", "is_rec": True, "off_peak": True},
            11,
        ),
        (
            R2V,
            {"model": "viduq2-pro", "images": [IMG], "prompt": "p", "duration": 10, "resolution": "1080p"},
            40,
        ),
        (R2V, {"model": "viduq2", "images": [IMG], "prompt": "p", "duration": 3, "audio": True}, 5),
        (I2V, {"model": "viduq1-classic", "images": [IMG]}, 8),
    ],
)
def test_parse_credits_follow_the_family_table(kind: TaskKind, body: dict[str, Any], credits: int) -> None:
    assert parse_create(kind, body).spec.credits == credits


def test_catalogue_prices_a_model_the_same_on_every_endpoint() -> None:
    prices: dict[tuple[str, int, str], set[int]] = {}
    for (kind, model), options in CATALOGUE.items():
        if not kind.makes_video:
            continue
        for duration, option in options.durations.items():
            for resolution in option.resolutions:
                key = (model, duration, resolution)
                prices.setdefault(key, set()).add(options.credits(duration, resolution, off_peak=False))
    assert all(len(found) == 1 for found in prices.values()), {k: v for k, v in prices.items() if len(v) > 1}


def test_catalogue_lists_every_public_name_once() -> None:
    assert len(PUBLIC_MODELS) == len(set(PUBLIC_MODELS)) == 10
    assert "viduq4-preview" not in PUBLIC_MODELS


def test_with_credits_overrides_every_kind() -> None:
    table = with_credits(
        {
            "text2video": {"viduq3-pro": {"*": {"720p": 10}}},
            "img2video": {"viduq1": {"5": {"1080p": 3}}},
            "start-end2video": {"vidu2.0": {"8": {"720p": 1}}},
        }
    )
    body: dict[str, Any] = {"model": "viduq3-pro", "prompt": "p"}
    assert parse_create(T2V, body, catalogue=table).spec.credits == 50
    assert parse_create(I2V, {"model": "viduq1", "images": [IMG]}, catalogue=table).spec.credits == 3
    assert (
        parse_create(
            SE2V, {"model": "vidu2.0", "images": [IMG, IMG], "duration": 8}, catalogue=table
        ).spec.credits
        == 1
    )
    with pytest.raises(ValueError, match="viduq2"):
        with_credits({"img2video": {"viduq2": {"5": {"720p": 1}}}})


def test_catalogue_as_json_describes_each_form() -> None:
    table = catalogue_as_json()
    text = table["text2video"]
    frames = table["img2video"]
    reference = table["reference2video"]
    assert isinstance(text, dict) and isinstance(frames, dict) and isinstance(reference, dict)
    assert text["viduq1"]["styles"] == ["general", "anime"] and text["viduq1"]["style_effective"] is True
    assert text["viduq2"]["style_effective"] is False
    assert text["viduq3-pro"]["audio"] == {"available": True, "default": True}
    assert text["viduq3-pro"]["bgm_effective"] is False
    assert text["viduq2"]["audio"] == {"available": False, "default": False}
    assert frames["viduq3-pro"]["durations"]["5"]["resolutions"] == ["540p", "720p", "1080p", "2K"]
    assert frames["viduq1"]["aspect_ratios"] == [] and frames["viduq1"]["default_aspect_ratio"] is None
    assert frames["viduq1"]["is_rec"] is True and frames["viduq1"]["prompt_required"] is False
    assert reference["viduq2-pro-fast"]["subjects"]["images_max"] == 3
    assert table["reference2image"]["viduq2"]["subjects"] is None  # type: ignore[index]


def test_lookup_reference2video_gains_the_q2_pro_models() -> None:
    fast = lookup(R2V, "viduq2-pro-fast")
    assert fast is not None and fast.option_for(10).resolutions == ("720p", "1080p")
    assert fast.aspect_ratios == ("16:9", "9:16", "1:1", "4:3", "3:4")
