"""Raising the soft open-files limit (in a child process, so this one keeps its own) and the cap that fits."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from refgen.serving.open_files import RESERVED_FILES, connection_cap

SHOW = (
    "from refgen.serving.open_files import raise_open_files_limit as r; import resource; "
    "l = r(); print(l.before, l.soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]); print(l.describe())"
)


def _run_with_limits(soft: int, hard: int) -> list[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    done = subprocess.run(
        [sys.executable, "-c", SHOW], preexec_fn=limit, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.splitlines()


def _hard() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the hard open-files limit here is {hard}: nothing to raise to")
    return hard


def test_open_files_soft_limit_is_raised_to_the_hard_one() -> None:
    hard = _hard()
    counts, line = _run_with_limits(1024, hard)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    assert counts.split() == ["1024", str(target), str(target)]
    assert line.startswith(f"open files limit {target} (raised from 1024, hard ")


def test_open_files_limit_already_at_the_hard_one_is_left_alone() -> None:
    counts, line = _run_with_limits(1024, 1024)
    assert counts.split() == ["1024", "1024", "1024"]
    assert line == "open files limit 1024 (hard 1024)"


@pytest.mark.parametrize(
    ("wanted", "open_files", "cap"),
    [
        (4096, 20_000, 4096),
        (4096, 1024, 1024 - RESERVED_FILES),
        (100, 1024, 100),
        (4096, 300, 150),  # little room: half of it
        (4096, 1, 1),
    ],
)
def test_open_files_connection_cap_leaves_room_for_the_rest_of_the_server(
    wanted: int, open_files: int, cap: int
) -> None:
    assert connection_cap(wanted, open_files) == cap
