"""``refgen --help`` shows whole summaries; every failure is ``error: …`` on stderr."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from refgen.cli import main


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, prog_name="refgen")
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("group", [(), ("keys",), ("callbacks",), ("models",)])
def test_group_help_shows_whole_summaries(group: tuple[str, ...]) -> None:
    code, out, _ = run(*group, "--help")
    listing = out.split("Commands:")[1]
    assert code == 0 and "..." not in listing and "…" not in listing
    text = " ".join(listing.split())
    command = main if not group else main.commands[group[0]]
    for sub in command.commands.values():  # type: ignore[attr-defined]
        first_sentence = " ".join((sub.help or "").split("\n\n")[0].split())
        first_sentence = first_sentence.split(". ")[0]
        assert first_sentence in text, sub.name


def test_group_usage_error_is_one_error_line() -> None:
    code, out, err = run("video", "--no-such-option")
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("error: No such option") and "refgen video --help" in line


def test_group_server_side_failure_is_lowercase_error(tmp_path: Path) -> None:
    code, _, err = run("keys", "revoke", "nobody", env={"REFGEN_DATA_DIR": str(tmp_path / "none")})
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith("error: no refgen database at ") and "Error:" not in err


def test_group_bad_settings_are_one_line_each(tmp_path: Path) -> None:
    env = {
        "REFGEN_HEARTBEAT_SECONDS": "abc",
        "REFGEN_ALLOW_NETWORKS": "bogus",
        "REFGEN_DATA_DIR": str(tmp_path),
    }
    code, _, err = run("keys", "list", env=env)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2 and "errors.pydantic.dev" not in err
    assert sorted(line.split("=")[0] for line in lines) == [
        "error: REFGEN_ALLOW_NETWORKS",
        "error: REFGEN_HEARTBEAT_SECONDS",
    ]
