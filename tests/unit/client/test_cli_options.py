"""The client commands' options: every one shows its environment variable, exit codes by kind."""

from __future__ import annotations

import click
import pytest

from refgen.cli import main, tasks
from refgen.cli.exit_codes import exit_code_for
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
    TaskFailedError,
    WaitTimeoutError,
)

CONTRACT_OPTIONS = {
    "video": {
        "--model",
        "--image",
        "--prompt",
        "--duration",
        "--resolution",
        "--aspect-ratio",
        "--movement-amplitude",
        "--bgm",
        "--seed",
        "--off-peak",
        "--watermark",
        "--wm-position",
        "--wm-url",
        "--payload",
        "--callback-url",
        "--meta-data",
    },
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


@pytest.mark.parametrize("name", ["video", "image", "status", "cancel", "download"])
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
    if name in ("video", "image"):
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
