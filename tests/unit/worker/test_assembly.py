"""The worker builder: one worker from settings, every backend closed once, registration recorded."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from refgen.backends.base import GenerationBackend
from refgen.backends.registry import ModelRoute
from refgen.domain import Route, TaskKind
from refgen.resources import open_store
from refgen.settings import Settings
from refgen.testing.backends import FakeBackend
from refgen.worker.assembly import UnservedModels, assemble_worker, select_routes


class CountingBackend(FakeBackend):
    def __init__(self) -> None:
        super().__init__()
        self.closes = 0

    def close(self) -> None:
        super().close()
        self.closes += 1


class SharedBuilder:
    """Like ``build_backends`` with one identity for every route: one backend serves them all."""

    def __init__(self) -> None:
        self.backend = CountingBackend()
        self.routes: list[Route] = []

    def __call__(self, routes: Mapping[Route, ModelRoute]) -> dict[Route, GenerationBackend]:
        self.routes = sorted(routes)
        return {route: self.backend for route in routes}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def test_assemble_worker_closes_a_shared_backend_once(settings: Settings) -> None:
    build = SharedBuilder()
    assembled = assemble_worker(settings, threading.Event(), build=build)
    assert len(build.routes) > 1
    assembled.close()
    assert build.backend.closes == 1


def test_assemble_worker_serves_only_the_models_asked_for(settings: Settings) -> None:
    build = SharedBuilder()
    assembled = assemble_worker(settings, threading.Event(), models={"viduq2"}, build=build)
    try:
        assert build.routes
        assert {model for _, model in build.routes} == {"viduq2"}
        assert assembled.worker.routes == build.routes
    finally:
        assembled.close()


def test_assemble_worker_refuses_unserved_models_before_opening_anything(settings: Settings) -> None:
    with pytest.raises(UnservedModels) as info:
        assemble_worker(settings, threading.Event(), models={"viduq2", "nosuch"}, build=SharedBuilder())
    assert info.value.models == ["nosuch"]
    assert not settings.data_dir.exists()


def test_assembled_worker_run_registers_stops_and_closes(settings: Settings) -> None:
    build = SharedBuilder()
    assembled = assemble_worker(settings, threading.Event(), worker_id="worker-test", build=build)
    stop = threading.Event()
    stop.set()  # no task to wait for: register, stop at once, record that it stopped
    assembled.run(stop)
    [info] = open_store(settings, migrate=False).workers.list_workers()
    assert info.id == "worker-test"
    assert info.stopped_at is not None
    assert build.backend.closes == 1


def test_select_routes_without_models_keeps_every_route() -> None:
    routes = {(TaskKind.IMAGE, "viduq2"): ModelRoute("viduq2", "compositor")}
    assert select_routes(routes, None) == routes
    assert select_routes(routes, set()) == {}
