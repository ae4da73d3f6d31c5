"""The model map: which backend serves each public model name, and how to build it.

``REFGEN_MODEL_MAP`` maps a public model name to ``{"backend": name, "weights": path, "options": {...}}``.
Without a map, every public model is served by the ``compositor``. With one, only the models it names
are served; the others answer ``ModelUnavailable``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from refgen.backends.base import GenerationBackend
from refgen.contract.catalogue import PUBLIC_MODELS
from refgen.domain import TaskKind
from refgen.errors import RefgenError


@dataclass(frozen=True)
class BackendKind:
    target: str  # "module:Class"
    kinds: frozenset[TaskKind]
    needs_weights: bool


BACKEND_KINDS: Mapping[str, BackendKind] = {
    "compositor": BackendKind(
        "refgen.backends.compositor:CompositorBackend", frozenset(TaskKind), needs_weights=False
    ),
    # takes a fixed time per task and makes a plain frame: for load tests and benchmarks
    "timed": BackendKind("refgen.testing.timed:TimedBackend", frozenset(TaskKind), needs_weights=False),
    # diffusers on a GPU, weights from a local folder (docs/gpu-backends.md)
    "wan-vace": BackendKind(
        "refgen.backends.wan_vace:WanVaceBackend", frozenset({TaskKind.VIDEO}), needs_weights=True
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

    @property
    def kinds(self) -> frozenset[TaskKind]:
        return BACKEND_KINDS[self.backend].kinds


def model_routes(model_map: Mapping[str, Mapping[str, Any]]) -> dict[str, ModelRoute]:
    """Validate the map from settings; an empty map serves every public model with the compositor."""
    if not model_map:
        return {name: ModelRoute(name, "compositor") for name in PUBLIC_MODELS}
    routes: dict[str, ModelRoute] = {}
    for model, entry in model_map.items():
        if model not in PUBLIC_MODELS:
            raise ModelMapError(
                f"model map: unknown public model {model!r} (known: {', '.join(PUBLIC_MODELS)})"
            )
        if not isinstance(entry, Mapping):
            raise ModelMapError(f"model map: entry for {model!r} must be an object")
        backend = entry.get("backend")
        if not isinstance(backend, str) or backend not in BACKEND_KINDS:
            raise ModelMapError(
                f"model map: {model!r} names unknown backend {backend!r} (known: {', '.join(BACKEND_KINDS)})"
            )
        weights = entry.get("weights")
        if BACKEND_KINDS[backend].needs_weights and not weights:
            raise ModelMapError(
                f"model map: backend {backend!r} for {model!r} needs 'weights', a local folder"
            )
        options = entry.get("options", {})
        if not isinstance(options, Mapping):
            raise ModelMapError(f"model map: 'options' for {model!r} must be an object")
        routes[model] = ModelRoute(model, backend, str(weights) if weights else None, dict(options))
    return routes


def served_models(routes: Mapping[str, ModelRoute], kind: TaskKind) -> frozenset[str]:
    return frozenset(name for name, route in routes.items() if kind in route.kinds)


def build_backend(route: ModelRoute) -> GenerationBackend:
    module_name, _, class_name = BACKEND_KINDS[route.backend].target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
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


def build_backends(routes: Mapping[str, ModelRoute]) -> dict[str, GenerationBackend]:
    """One loaded backend per distinct (backend, weights, options), shared by the models using it."""
    built: dict[tuple[str, str | None, str], GenerationBackend] = {}
    by_model: dict[str, GenerationBackend] = {}
    for model, route in routes.items():
        identity = (route.backend, route.weights, repr(sorted(route.options.items())))
        if identity not in built:
            backend = build_backend(route)
            backend.load()
            built[identity] = backend
        by_model[model] = built[identity]
    return by_model
