"""The catalogue against the contract's tables: options, defaults, credits, output sizes."""

from __future__ import annotations

import pytest

from refgen.contract.catalogue import lookup
from refgen.contract.sizes import auto_size, frames_match, output_size, reduced_ratio
from refgen.domain import TaskKind

V, IMG = TaskKind.VIDEO, TaskKind.IMAGE


@pytest.mark.parametrize(
    ("kind", "model", "duration", "resolution", "credits"),
    [
        (V, "vidu1.5", 4, "360p", 4),
        (V, "vidu1.5", 4, "720p", 10),
        (V, "vidu1.5", 4, "1080p", 20),
        (V, "vidu1.5", 8, "720p", 20),
        (V, "vidu2.0", 4, "360p", 2),
        (V, "vidu2.0", 4, "720p", 4),
        (V, "viduq1", 5, "1080p", 8),
        (V, "viduq2", 1, "540p", 1),
        (V, "viduq2", 7, "720p", 7),
        (V, "viduq2", 10, "1080p", 20),
        (IMG, "viduq1", 0, "1080p", 1),
        (IMG, "viduq2", 0, "1080p", 1),
        (IMG, "viduq2", 0, "2K", 2),
        (IMG, "viduq2", 0, "4K", 4),
    ],
)
def test_catalogue_credits_match_the_contract(
    kind: TaskKind, model: str, duration: int, resolution: str, credits: int
) -> None:
    options = lookup(kind, model)
    assert options is not None
    assert options.credits(duration, resolution, off_peak=False) == credits
    assert options.credits(duration, resolution, off_peak=True) == -(-credits // 2)


def test_catalogue_defaults_depend_on_model_and_duration() -> None:
    vidu15 = lookup(V, "vidu1.5")
    assert vidu15 is not None
    assert vidu15.default_duration == 4
    assert vidu15.option_for(4).default_resolution == "360p"
    assert vidu15.option_for(8).default_resolution == "720p"
    viduq2 = lookup(V, "viduq2")
    assert viduq2 is not None
    assert sorted(viduq2.durations) == list(range(1, 11))
    assert viduq2.aspect_ratios == ("16:9", "9:16", "1:1", "4:3", "3:4")


def test_catalogue_has_no_image_model_for_old_video_models() -> None:
    assert lookup(IMG, "vidu2.0") is None and lookup(IMG, "vidu1.5") is None


@pytest.mark.parametrize(
    ("resolution", "ratio", "size"),
    [
        ("1080p", "16:9", (1920, 1080)),
        ("720p", "9:16", (720, 1280)),
        ("1080p", "21:9", (2520, 1080)),
        ("360p", "16:9", (640, 360)),
        ("540p", "4:3", (720, 540)),
        ("720p", "1:1", (720, 720)),
        ("2K", "3:2", (2160, 1440)),
        ("4K", "16:9", (3840, 2160)),
        ("1080p", "2:3", (1080, 1620)),
        ("540p", "16:9", (960, 540)),
        ("360p", "9:16", (360, 640)),
    ],
)
def test_output_size_short_side_is_the_resolution(resolution: str, ratio: str, size: tuple[int, int]) -> None:
    assert output_size(resolution, ratio) == size


def test_auto_size_follows_the_first_reference() -> None:
    assert auto_size("1080p", 1000, 500) == (2160, 1080)
    assert auto_size("2K", 300, 400) == (1440, 1920)
    width, height = auto_size("1080p", 333, 1000)
    assert width == 1080 and height % 2 == 0


def test_operator_credits_replace_the_defaults() -> None:
    from refgen.contract.catalogue import with_credits

    table = with_credits(
        {
            "reference2video": {"vidu1.5": {"8": {"720p": 30}}, "viduq2": {"*": {"1080p": 3}}},
            "reference2image": {"viduq2": {"4K": 6}},
        }
    )
    vidu15 = lookup(V, "vidu1.5", table)
    viduq2 = lookup(V, "viduq2", table)
    image = lookup(IMG, "viduq2", table)
    assert vidu15 is not None and viduq2 is not None and image is not None
    assert vidu15.credits(8, "720p", off_peak=False) == 30 and vidu15.credits(4, "720p", off_peak=False) == 10
    assert (
        viduq2.credits(10, "1080p", off_peak=False) == 30 and viduq2.credits(10, "720p", off_peak=False) == 10
    )
    assert image.credits(0, "4K", off_peak=False) == 6 and image.credits(0, "2K", off_peak=False) == 2
    default = lookup(V, "vidu1.5")
    assert default is not None and default.credits(8, "720p", off_peak=False) == 20  # defaults untouched


@pytest.mark.parametrize(
    "overrides",
    [
        {"reference2audio": {}},
        {"reference2video": {"vidu9": {"4": {"360p": 1}}}},
        {"reference2video": {"vidu2.0": {"8": {"360p": 1}}}},
        {"reference2video": {"vidu2.0": {"4": {"1080p": 1}}}},
        {"reference2video": {"vidu2.0": {"4": {"360p": -1}}}},
        {"reference2video": {"vidu2.0": {"4": {"360p": 1.5}}}},
        {"reference2image": {"viduq1": "cheap"}},
    ],
)
def test_operator_credits_refuse_unknown_names_and_bad_figures(overrides: dict[str, object]) -> None:
    from refgen.contract.catalogue import with_credits

    with pytest.raises(ValueError, match="credits"):
        with_credits(overrides)


def test_model_map_routes_each_kind_a_model_has() -> None:
    from refgen.backends.registry import ModelMapError, model_routes, served_models

    routes = model_routes(
        {
            "viduq2": {
                "reference2video": {"backend": "timed"},
                "reference2image": {"backend": "compositor"},
            },
            "viduq1": {"backend": "compositor"},
            "vidu2.0": {"backend": "compositor"},
        }
    )
    assert routes[(V, "viduq2")].backend == "timed" and routes[(IMG, "viduq2")].backend == "compositor"
    assert {(V, "viduq1"), (IMG, "viduq1"), (V, "vidu2.0")} <= set(routes)
    assert (IMG, "vidu2.0") not in routes  # vidu2.0 has no image model
    assert served_models(routes, V) == {"viduq2", "viduq1", "vidu2.0"}
    assert served_models(routes, IMG) == {"viduq2", "viduq1"}
    for bad in (
        {"vidu2.0": {"reference2image": {"backend": "compositor"}}},
        {"viduq2": {"backend": "compositor", "reference2video": {"backend": "compositor"}}},
        {"viduq2": {"reference2video": {"backend": "nope"}}},
    ):
        with pytest.raises(ModelMapError):
            model_routes(bad)


@pytest.mark.parametrize(
    ("start", "end", "matches"),
    [
        ((640, 512), (512, 512), True),  # exactly 1.25
        ((512, 512), (640, 512), True),  # exactly 0.8
        ((640, 480), (512, 512), False),  # 1.333…
        ((1281, 1024), (512, 512), False),  # just over 1.25
        ((1280, 720), (1920, 1080), True),
    ],
)
def test_frames_match_compares_ratios_exactly(
    start: tuple[int, int], end: tuple[int, int], matches: bool
) -> None:
    assert frames_match(start, end) is matches


def test_reduced_ratio_of_output_frames() -> None:
    assert reduced_ratio(*auto_size("1080p", 1280, 720)) == "16:9"
    assert reduced_ratio(*auto_size("720p", 512, 512)) == "1:1"
