"""The client commands' options: every one shows its environment variable, exit codes by kind."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from refgen.cli import main, tasks
from refgen.cli.exit_codes import exit_code_for
from refgen.cli.video_options import parse_subject
from refgen.client import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    Generation,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    Subject,
    TaskFailedError,
    WaitTimeoutError,
)

VIDEO_OPTIONS = {
    "--model",
    "--prompt",
    "--duration",
    "--resolution",
    "--movement-amplitude",
    "--bgm",
    "--audio",
    "--voice-id",
    "--seed",
    "--off-peak",
    "--watermark",
    "--wm-position",
    "--wm-url",
    "--payload",
    "--callback-url",
    "--meta-data",
}
CREATE_COMMANDS = ("video", "text2video", "img2video", "start-end", "image")
CONTRACT_OPTIONS = {
    "video": VIDEO_OPTIONS | {"--image", "--subject", "--aspect-ratio"},
    "text2video": VIDEO_OPTIONS | {"--style", "--aspect-ratio"},
    "img2video": VIDEO_OPTIONS | {"--image", "--is-rec"},
    "start-end": VIDEO_OPTIONS | {"--start", "--end", "--is-rec"},
    "image": {
        "--model",
        "--image",
        "--prompt",
        "--aspect-ratio",
        "--resolution",
        "--seed",
        "--payload",
        "--callback-url",
    },
}


@pytest.mark.parametrize("name", [*CREATE_COMMANDS, "status", "cancel", "download"])
def test_cli_every_option_shows_its_environment_variable(name: str) -> None:
    command = main.commands[name]
    assert command in tasks.COMMANDS
    with click.Context(command, info_name=name, parent=click.Context(main, info_name="refgen")) as ctx:
        ctx.auto_envvar_prefix = (command.context_settings or {}).get("auto_envvar_prefix")
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            record = param.get_help_record(ctx)
            assert record is not None and "env var:" in record[1], (name, param.opts)
    names = {o for p in command.params for o in p.opts}
    assert CONTRACT_OPTIONS.get(name, set()) <= names
    assert {"--base-url", "--api-key", "--json"} <= names
    if name in CREATE_COMMANDS:
        assert {"-o", "--output", "--no-wait", "--timeout"} <= names


def test_cli_exit_codes_by_failure_kind() -> None:
    stuck = Generation(id="t", state="processing")
    failed = Generation(id="t", state="failed", err_code="UserCancelled")
    cases = [
        (AuthenticationError("m"), 3),
        (NotFoundError("m"), 4),
        (InvalidRequestError("m"), 5),
        (TaskFailedError(failed), 6),
        (WaitTimeoutError(stuck, 1.0), 7),
        (APITimeoutError("m"), 7),
        (ServerError("m"), 8),
        (APIConnectionError("m"), 8),
        (RateLimitError("m"), 9),
        (APIError("m"), 1),
    ]
    assert [exit_code_for(error) for error, _ in cases] == [code for _, code in cases]


def test_cli_subject_reads_id_pictures_and_voice(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"png")
    b.write_bytes(b"png")
    assert parse_subject(f"cat={a},{b}:purr") == Subject("cat", [a, b], "purr")
    assert parse_subject(f"dog={a}") == Subject("dog", [a], None)
    assert parse_subject("x=https://pics.test:8080/a.png") == Subject(
        "x", ["https://pics.test:8080/a.png"], None
    )
    assert parse_subject("x=https://pics.test/a.png,https://pics.test/b.png:low") == Subject(
        "x", ["https://pics.test/a.png", "https://pics.test/b.png"], "low"
    )


@pytest.mark.parametrize("value", ["cat", "=a.png", "cat=", "cat=missing.png"])
def test_cli_subject_refuses_a_malformed_value(value: str) -> None:
    result = CliRunner().invoke(main, ["video", "--subject", value, "--prompt", "p", "--api-key", "k"])
    assert result.exit_code == 2 and result.output.startswith("error: ")


def test_cli_video_refuses_images_and_subjects_together(tmp_path: Path) -> None:
    a = tmp_path / "a.png"
    a.write_bytes(b"png")
    args = ["video", "--image", str(a), "--subject", f"s={a}", "--prompt", "p", "--api-key", "k"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "not both" in result.output


@pytest.mark.parametrize(
    ("name", "missing"),
    [("text2video", "--prompt"), ("img2video", "--image"), ("start-end", "--start")],
)
def test_cli_new_verbs_require_their_inputs(name: str, missing: str) -> None:
    result = CliRunner().invoke(main, [name, "--api-key", "k"])
    assert result.exit_code == 2 and missing in result.output
