"""The create body models say what the catalogue and the parser say: same fields, enums and limits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from refgen.contract.bodies import BODY_FIELDS, BODY_MODELS, EXAMPLES, body_model
from refgen.contract.catalogue import (
    AMPLITUDES,
    CATALOGUE,
    PAYLOAD_MAX,
    SEED_MAX,
    WM_POSITIONS,
    ModelOptions,
    models_for,
)
from refgen.contract.requests import parse_create
from refgen.domain import TaskKind
from refgen.errors import RequestError


def schema(kind: TaskKind) -> dict[str, Any]:
    return BODY_MODELS[kind].model_json_schema()


def options(kind: TaskKind) -> list[ModelOptions]:
    return [CATALOGUE[(kind, m)] for m in models_for(kind)]


def given(prop: dict[str, Any]) -> list[Any]:
    """An enum without its "not given" values."""
    return [v for v in prop["enum"] if v not in ("", None)]


def int_enum(prop: dict[str, Any]) -> list[int]:
    return next(branch["enum"] for branch in prop["anyOf"] if branch.get("type") == "integer")


class RecordingBody(Mapping[str, Any]):
    """A body that remembers which fields the parser asked for."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._fields = dict(fields)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        self.read.add(name)
        return self._fields[name]

    def get(self, name: str, default: Any = None) -> Any:
        self.read.add(name)
        return self._fields.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


@pytest.mark.parametrize("kind", list(BODY_FIELDS))
def test_body_model_fields_are_the_fields_the_parser_reads(kind: TaskKind) -> None:
    body = RecordingBody(EXAMPLES[kind])
    parse_create(kind, body)
    assert body.read == set(schema(kind)["properties"])


@pytest.mark.parametrize("kind", list(BODY_FIELDS))
def test_body_model_enums_and_limits_come_from_the_catalogue(kind: TaskKind) -> None:
    props = schema(kind)["properties"]
    models = options(kind)
    assert props["model"]["enum"] == list(models_for(kind))
    assert set(given(props["resolution"])) == {
        r for o in models for d in o.durations.values() for r in d.resolutions
    }
    ratios = {r for o in models for r in o.aspect_ratios} | {"auto" for o in models if o.allows_auto_ratio}
    assert set(given(props.get("aspect_ratio", {"enum": []}))) == ratios
    if any(o.max_images for o in models):
        assert props["images"]["minItems"] == min(o.min_images for o in models)
        assert props["images"]["maxItems"] == max(o.max_images for o in models)
    else:
        assert "images" not in props
    assert props["prompt"]["maxLength"] == max(o.prompt_max for o in models)
    assert props["payload"]["maxLength"] == PAYLOAD_MAX
    seed = next(b for b in props["seed"]["anyOf"] if b.get("type") == "integer")
    assert (seed["minimum"], seed["maximum"]) == (0, SEED_MAX)
    if kind.makes_video:
        assert int_enum(props["duration"]) == sorted({d for o in models for d in o.durations})
        assert int_enum(props["wm_position"]) == sorted(WM_POSITIONS)
        assert given(props["movement_amplitude"]) == list(AMPLITUDES)


def test_body_model_follows_a_changed_catalogue() -> None:
    video = CATALOGUE[(TaskKind.VIDEO, "vidu2.0")]
    changed = {**CATALOGUE, (TaskKind.VIDEO, "vidu2.0"): replace(video, prompt_max=5000, max_images=9)}
    props = body_model(TaskKind.VIDEO, changed).model_json_schema()["properties"]
    assert props["prompt"]["maxLength"] == 5000 and props["images"]["maxItems"] == 9


@pytest.mark.parametrize("kind", list(BODY_FIELDS))
def test_body_model_example_is_valid_for_schema_and_parser(kind: TaskKind) -> None:
    Draft202012Validator(schema(kind)).validate(EXAMPLES[kind])
    parse_create(kind, EXAMPLES[kind])


def verdicts(body: dict[str, Any]) -> tuple[bool, bool]:
    """(the video body schema accepts ``body``, the parser accepts it)."""
    valid = Draft202012Validator(schema(TaskKind.VIDEO)).is_valid(body)
    try:
        parse_create(TaskKind.VIDEO, body)
    except RequestError:
        return valid, False
    return valid, True


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("5", True),
        (" +05 ", True),
        ("\t5\n", True),
        ("", True),
        (None, True),
        (5, True),
        (5.0, True),
        ("5.0", False),
        ("٥", False),  # a digit, but not an ASCII one
        ("\u00a05", False),  # whitespace, but not ASCII whitespace
        ("five", False),
        (True, False),
        ("11", False),
        ("-5", False),
    ],
)
def test_body_model_duration_forms_agree_with_the_parser(value: object, accepted: bool) -> None:
    assert verdicts({**EXAMPLES[TaskKind.VIDEO], "model": "viduq2", "duration": value}) == (
        accepted,
        accepted,
    )


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("true", True),
        (" FALSE\n", True),
        ("True", True),
        ("", True),
        (None, True),
        (False, True),
        ("   ", False),
        ("yes", False),
        (1, False),
        ("\u2003true", False),
    ],
)
def test_body_model_bool_forms_agree_with_the_parser(value: object, accepted: bool) -> None:
    assert verdicts({**EXAMPLES[TaskKind.VIDEO], "bgm": value}) == (accepted, accepted)
