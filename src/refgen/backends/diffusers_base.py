"""The base class of the diffusers backends: options checked when built, one pipeline loaded once,
the pipeline-runner seam for tests, and memory given back on ``close``.

A backend subclasses :class:`DiffusersBackend`; what it calls while loading is in
:mod:`refgen.backends.diffusers_loading`, its options in :mod:`refgen.backends.diffusers_options`,
and what it calls while generating in :mod:`refgen.backends.diffusers_running`,
:mod:`refgen.media.frames` and :mod:`refgen.media.collage`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from refgen.backends.diffusers_loading import (
    check_weights,
    free_memory,
    import_diffusers,
    import_torch,
    load_pipeline,
    resolve_device,
    resolve_dtype,
)
from refgen.backends.diffusers_options import OptionParser, parse_options
from refgen.domain import TaskKind
from refgen.errors import BackendError

PipelineRunner = Callable[[Any, dict[str, Any]], Any]
"""Calls a loaded pipeline with keyword arguments and returns its output; a seam for tests."""


def call_pipeline(pipe: Any, kwargs: dict[str, Any]) -> Any:
    """The default :data:`PipelineRunner`: ``pipe(**kwargs)``."""
    return pipe(**kwargs)


@dataclass(frozen=True)
class Loaded:
    """A loaded pipeline with the torch module and where it runs."""

    pipe: Any
    torch: Any
    device: str
    dtype: Any


class DiffusersBackend:
    """What every diffusers backend shares: its options checked when built, one pipeline loaded once
    from a local folder, the :data:`PipelineRunner` seam, and memory given back on ``close``.

    A subclass names itself, its pipeline classes, its option parsers and its task kind, and builds
    the pipeline in :meth:`_build`; it adds planning and ``generate``.
    """

    name: ClassVar[str]
    pipeline_classes: ClassVar[tuple[str, ...]]
    option_parsers: ClassVar[Mapping[str, OptionParser]]
    kind: ClassVar[TaskKind]

    def __init__(
        self, weights: str, options: Mapping[str, Any] | None = None, *, runner: PipelineRunner | None = None
    ) -> None:
        self.weights = weights
        self.options = parse_options(self.name, options, self.option_parsers)
        self.runner: PipelineRunner = runner or call_pipeline
        self._loaded: Loaded | None = None
        self._lock = threading.Lock()

    def _build(self, diffusers: Any, torch: Any, folder: Path, dtype: Any) -> Any:
        """Make the pipeline from ``folder`` (``local_files_only``), before options are applied."""
        raise NotImplementedError

    def load(self) -> None:
        if self._loaded is not None:
            return
        torch = import_torch()
        diffusers = import_diffusers()
        folder = check_weights(self.weights, self.pipeline_classes, self.name)
        device = resolve_device(torch, self.options.get("device"))
        dtype = resolve_dtype(torch, self.options.get("dtype"), device)
        pipe = load_pipeline(
            self.name,
            folder,
            torch,
            device,
            self.options,
            lambda: self._build(diffusers, torch, folder, dtype),
        )
        self._loaded = Loaded(pipe=pipe, torch=torch, device=device, dtype=dtype)

    def supports(self, kind: TaskKind) -> bool:
        return kind is self.kind

    def close(self) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is not None:
            torch = loaded.torch
            del loaded
            free_memory(torch)

    @property
    def pipeline(self) -> Any:
        """The loaded pipeline (for benchmarks and tests)."""
        return self._require().pipe

    def _require(self) -> Loaded:
        if self._loaded is None:
            raise BackendError(f"{self.name} is not loaded")
        return self._loaded
