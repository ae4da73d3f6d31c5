"""The server's background services: started in order, stopped in reverse."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from refgen.runtime import Runtime, build_runtime
from refgen.settings import Settings
from refgen.testing.fetcher import FakeImageFetcher
from refgen.testing.store import MemoryStore
from refgen.worker.groups import ThreadWorkers


class Recording:
    def __init__(self, name: str, log: list[str], fail_start: bool = False) -> None:
        self.name = name
        self.log = log
        self.fail_start = fail_start

    def start(self) -> None:
        if self.fail_start:
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def runtime(tmp_path: Path, log: list[str], *, failing: str = "") -> Runtime:
    built = build_runtime(
        Settings(data_dir=tmp_path),
        store=MemoryStore(),
        fetcher=FakeImageFetcher(),
        workers=ThreadWorkers([]),
    )
    services = {
        name: Recording(name, log, fail_start=name == failing)
        for name in ("callbacks", "reaper", "retention", "workers")
    }
    return replace(built, on_close=[lambda: log.append("close")], **services)  # type: ignore[arg-type]


WITHOUT_WORKERS = [
    "start callbacks",
    "start reaper",
    "start retention",
    "stop retention",
    "stop reaper",
    "stop callbacks",
]


def test_runtime_stops_workers_before_the_reaper_and_the_dispatcher(tmp_path: Path) -> None:
    log: list[str] = []
    rt = runtime(tmp_path, log)
    rt.start()
    rt.stop()
    assert log == [
        "start callbacks",
        "start reaper",
        "start retention",
        "start workers",
        "stop workers",
        "stop retention",
        "stop reaper",
        "stop callbacks",
        "close",
    ]


def test_runtime_start_failure_stops_what_had_started(tmp_path: Path) -> None:
    log: list[str] = []
    rt = runtime(tmp_path, log, failing="workers")
    with pytest.raises(RuntimeError, match="workers cannot start"):
        rt.start()
    assert log == WITHOUT_WORKERS


def test_runtime_without_workers_runs_the_other_services(tmp_path: Path) -> None:
    log: list[str] = []
    rt = replace(runtime(tmp_path, log), workers=None)
    rt.start()
    rt.stop()
    assert log == [*WITHOUT_WORKERS, "close"]


@pytest.mark.parametrize("setting", ["max_queued_tasks", "max_queued_per_key"])
def test_runtime_settings_refuse_queue_limits_below_one(setting: str) -> None:
    with pytest.raises(ValidationError, match=setting):
        Settings(**{setting: 0})  # type: ignore[arg-type]
