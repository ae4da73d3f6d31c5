"""The model map: which backend serves each public model name, and how to build it.

``REFGEN_MODEL_MAP`` maps a public model name to ``{"backend": name, "weights": path, "options": {...}}``.
Without a map, every public model is served by the ``compositor``. With one, only the models it names
are served; the others answer ``ModelUnavailable``. A model that is both a video and an image model
(``viduq1``, ``viduq2``) may name one backend per kind.

An entry may also name a preset (``backends/presets.py``) instead of a backend: ``"wan-vace-14b"``,
``{"preset": "wan-vace-14b", "options": {...}}`` or ``{"backend": "wan-vace-14b"}``. The preset gives
the backend, the options (the entry's own options override them) and the weights folder, inside the
models folder unless the entry gives ``weights``.

Each backend says whether it can speak (``audio: true``); a model whose backend cannot refuses
``audio: true`` at creation instead of returning silence.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refgen.backends.base import GenerationBackend
from refgen.backends.presets import PRESETS, Preset
from refgen.contract.catalogue import CATALOGUE, PUBLIC_MODELS
from refgen.domain import Route, TaskKind
from refgen.errors import RefgenError


def compositor_speaks() -> bool:
    """Whether the compositor can synthesise speech here (the synthesizer is installed and works)."""
    from refgen.media.speech import available

    return available()


def never_speaks() -> bool:
    return False


@dataclass(frozen=True)
class BackendKind:
    target: str  # "module:Class"
    kinds: frozenset[TaskKind]
    needs_weights: bool
    speech: Callable[[], bool] = never_speaks  # asked when the routes are built

    @property
    def speaks(self) -> bool:
        """Whether this backend can make the speech track of ``audio: true``."""
        return self.speech()


BACKEND_KINDS: Mapping[str, BackendKind] = {
    "compositor": BackendKind(
        "refgen.backends.compositor:CompositorBackend",
        frozenset(TaskKind),
        needs_weights=False,
        speech=compositor_speaks,
    ),
    # takes a fixed time per task and makes a plain frame: for load tests and benchmarks
    "timed": BackendKind("refgen.testing.timed:TimedBackend", frozenset(TaskKind), needs_weights=False),
    # diffusers on a GPU, weights from a local folder (docs/gpu-backends.md)
    "wan-vace": BackendKind(
        "refgen.backends.wan_vace:WanVaceBackend",
        frozenset(kind for kind in TaskKind if kind.makes_video),
        needs_weights=True,
    ),
    "flux2-klein": BackendKind(
        "refgen.backends.flux2_klein:Flux2KleinBackend", frozenset({TaskKind.IMAGE}), needs_weights=True
    ),
}


class ModelMapError(RefgenError):
    """The model map is invalid."""


@dataclass(frozen=True)
class ModelRoute:
    model: str
    backend: str
    weights: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    preset: str | None = None  # the preset this route was made from, if any

    @property
    def kinds(self) -> frozenset[TaskKind]:
        return BACKEND_KINDS[self.backend].kinds

    @property
    def speaks(self) -> bool:
        return BACKEND_KINDS[self.backend].speaks

    @property
    def identity(self) -> tuple[str, str | None, str]:
        """Routes with the same identity share one loaded backend."""
        return self.backend, self.weights, repr(sorted(self.options.items()))


def model_routes(model_map: Mapping[str, Any], *, models_dir: Path | None = None) -> dict[Route, ModelRoute]:
    """Validate the map from settings into routes: (task kind, public model) → backend.

    An entry is either one backend (``{"backend": …}``) or preset, which serves every kind of the
    model it can, or one per kind (``{"reference2video": {"backend": …}, "reference2image": "…"}``).
    An empty map serves every model of the catalogue with the compositor. ``models_dir`` is where
    presets' weights are (``REFGEN_MODELS_DIR``); a preset entry without ``weights`` needs it.
    """
    if not model_map:
        return {(kind, model): ModelRoute(model, "compositor") for kind, model in CATALOGUE}
    routes: dict[Route, ModelRoute] = {}
    for model, entry in model_map.items():
        if model not in PUBLIC_MODELS:
            raise ModelMapError(
                f"model map: unknown public model {model!r} (known: {', '.join(PUBLIC_MODELS)})"
            )
        if isinstance(entry, str):
            entry = {"preset": entry}
        if not isinstance(entry, Mapping):
            raise ModelMapError(f"model map: entry for {model!r} must be an object or a preset name")
        kinds_of_model = [kind for kind in TaskKind if (kind, model) in CATALOGUE]
        per_kind = {kind: entry[kind.value] for kind in TaskKind if kind.value in entry}
        if per_kind:
            if "backend" in entry or "preset" in entry:
                raise ModelMapError(f"model map: {model!r} gives both a backend and backends per kind")
            for kind, sub_entry in per_kind.items():
                if kind not in kinds_of_model:
                    raise ModelMapError(f"model map: {model!r} is not a {kind.value} model")
                route = _route(model, sub_entry, f"{model}.{kind.value}", models_dir)
                if kind not in route.kinds:
                    raise ModelMapError(f"model map: backend {route.backend!r} cannot do {kind.value}")
                routes[(kind, model)] = route
            continue
        route = _route(model, entry, model, models_dir)
        served = [kind for kind in kinds_of_model if kind in route.kinds]
        if not served:
            raise ModelMapError(
                f"model map: backend {route.backend!r} cannot serve {model!r} "
                f"({' or '.join(k.value for k in kinds_of_model)})"
            )
        routes.update({(kind, model): route for kind in served})
    return routes


def _route(model: str, entry: object, where: str, models_dir: Path | None) -> ModelRoute:
    if isinstance(entry, str):
        entry = {"preset": entry}
    if not isinstance(entry, Mapping):
        raise ModelMapError(f"model map: entry for {where!r} must be an object or a preset name")
    preset_name = entry.get("preset", entry.get("backend") if entry.get("backend") in PRESETS else None)
    if preset_name is not None:
        return _preset_route(model, entry, where, str(preset_name), models_dir)
    backend = entry.get("backend")
    if not isinstance(backend, str) or backend not in BACKEND_KINDS:
        raise ModelMapError(
            f"model map: {where!r} names unknown backend {backend!r} "
            f"(backends: {', '.join(BACKEND_KINDS)}; presets: {', '.join(PRESETS)})"
        )
    weights = entry.get("weights")
    if BACKEND_KINDS[backend].needs_weights and not weights:
        raise ModelMapError(f"model map: backend {backend!r} for {where!r} needs 'weights', a local folder")
    return ModelRoute(model, backend, str(weights) if weights else None, _options(entry, where))


def _options(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    options = entry.get("options", {})
    if not isinstance(options, Mapping):
        raise ModelMapError(f"model map: 'options' for {where!r} must be an object")
    return dict(options)


def _preset_route(
    model: str, entry: Mapping[str, Any], where: str, name: str, models_dir: Path | None
) -> ModelRoute:
    preset = PRESETS.get(name)
    if preset is None:
        raise ModelMapError(
            f"model map: {where!r} names unknown preset {name!r} (known: {', '.join(PRESETS)})"
        )
    if "backend" in entry and "preset" in entry:
        raise ModelMapError(f"model map: {where!r} gives both a backend and a preset")
    weights = entry.get("weights")
    if not weights and models_dir is None:
        raise ModelMapError(f"model map: preset {name!r} for {where!r} needs 'weights' or a models folder")
    root = models_dir if models_dir is not None else Path(str(weights)).parent
    options = {**preset.resolved_options(root), **_options(entry, where)}
    folder = str(weights) if weights else str(preset.weights(root))
    return ModelRoute(model, preset.backend, folder, options, preset=name)


def preset_endpoints(preset: Preset) -> list[str]:
    """The create endpoints (task kinds) a preset's backend serves, in the contract's order."""
    return [kind.value for kind in TaskKind if kind in BACKEND_KINDS[preset.backend].kinds]


def served_models(routes: Iterable[Route], kind: TaskKind) -> frozenset[str]:
    """The models of ``kind`` among ``routes`` (a model map's routes, or a set of them)."""
    return frozenset(model for (route_kind, model) in routes if route_kind is kind)


def speaking_routes(routes: Mapping[Route, ModelRoute]) -> frozenset[Route]:
    """The routes whose backend can speak (each backend asked once)."""
    answers: dict[str, bool] = {}
    for route in routes.values():
        if route.backend not in answers:
            answers[route.backend] = route.speaks
    return frozenset(key for key, route in routes.items() if answers[route.backend])


def describe(route: Route) -> str:
    """``viduq1:reference2video``: how workers and operators name a route."""
    return f"{route[1]}:{route[0].value}"


def build_backend(route: ModelRoute) -> GenerationBackend:
    module_name, _, class_name = BACKEND_KINDS[route.backend].target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if route.preset and route.weights and not Path(route.weights).is_dir():
        raise ModelMapError(
            f"model map: the weights of preset {route.preset!r} for {route.model!r} are not in "
            f"{route.weights}: run `refgen models pull {route.preset}`"
        )
    kwargs: dict[str, Any] = {}
    if route.weights:
        kwargs["weights"] = route.weights
    if route.options:
        kwargs["options"] = dict(route.options)
    try:
        backend = cls(**kwargs)
    except TypeError as exc:
        raise ModelMapError(f"model map: backend {route.backend!r} for {route.model!r}: {exc}") from None
    assert isinstance(backend, GenerationBackend)
    return backend


def build_backends(routes: Mapping[Route, ModelRoute]) -> dict[Route, GenerationBackend]:
    """One loaded backend per distinct (backend, weights, options), shared by the routes using it."""
    built: dict[tuple[str, str | None, str], GenerationBackend] = {}
    by_route: dict[Route, GenerationBackend] = {}
    for key, route in routes.items():
        if route.identity not in built:
            backend = build_backend(route)
            backend.load()
            built[route.identity] = backend
        by_route[key] = built[route.identity]
    return by_route
