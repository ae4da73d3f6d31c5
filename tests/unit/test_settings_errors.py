"""Bad settings: one line each, naming the variable and what it takes, for every field."""

from __future__ import annotations

import pytest

from refgen.settings import Settings
from refgen.settings_errors import InvalidSettings, load_settings, variable


def problems_for(monkeypatch: pytest.MonkeyPatch, **environ: str) -> list[str]:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    return caught.value.problems


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("REFGEN_CALLBACK_RETRY_DELAYS", "5,x", "numbers separated by commas"),
        ("REFGEN_ALLOW_NETWORKS", "bogus", "networks in CIDR notation"),
        ("REFGEN_HEARTBEAT_SECONDS", "abc", "a number, greater than 0"),
        ("REFGEN_PORT", "99999", "a whole number, at least 0 and at most 65535"),
        ("REFGEN_MODEL_MAP", "{bad", "inline JSON or the path of a JSON or TOML file"),
        ("REFGEN_CREDITS", "/no/such/credits.json", "cannot read /no/such/credits.json"),
    ],
)
def test_settings_errors_are_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    [line] = problems_for(monkeypatch, **{name: value})
    assert line.startswith(f"{name}={value!r}: ") and says in line
    assert "\n" not in line and "pydantic" not in line and "http" not in line


def test_settings_errors_one_line_per_bad_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = problems_for(monkeypatch, REFGEN_PORT="x", REFGEN_WORKERS="-1", REFGEN_LEASE_SECONDS="0")
    assert sorted(line.split("=")[0] for line in lines) == [
        "REFGEN_LEASE_SECONDS",
        "REFGEN_PORT",
        "REFGEN_WORKERS",
    ]


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_settings_errors_every_field_is_reported_by_its_variable(
    monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    """A value of the wrong kind for every field, including fields added later."""
    monkeypatch.setenv(variable(field), "[not, a, valid value")
    try:
        load_settings()
    except InvalidSettings as exc:
        [line] = exc.problems
        assert line.startswith(f"{variable(field)}=") and "expected " in line and "\n" not in line
    # a text field takes this value: nothing to report, and nothing raised but InvalidSettings


def test_settings_errors_values_from_flags_are_checked_too() -> None:
    with pytest.raises(InvalidSettings) as caught:
        load_settings(port=-5)
    assert caught.value.problems[0].startswith("REFGEN_PORT=-5: expected a whole number")
