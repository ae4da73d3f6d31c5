"""VACE hints moved inside the transformer blocks, so that a block cache sees them.

``WanVACETransformer3DModel.forward`` (diffusers 0.42) runs the VACE blocks first, then the main
blocks, and adds hint ``k`` to the hidden states *after* main block ``vace_layers[k]`` returns,
outside that block. diffusers' first-block cache hooks the blocks only: on a cached step the head
block returns its output plus the residual of the previous full step, and that residual already
holds every hint of that step; the forward then adds this step's hints once more. The hints count
twice, and the video drifts from the uncached one (the tiny VACE of the tests: 0.75 of maximum
difference on one cached call with unchanged inputs, where a correct cache gives 0).

:func:`fold_vace_hints` moves the addition into the blocks themselves: a forward pre-hook on the
transformer keeps the per-layer scales and passes zeros in their place (the forward then adds
``hint × 0``, an exact no-op), a forward hook on each VACE block records its scaled hint, and main
block ``vace_layers[k]``'s ``forward`` returns its output plus that hint. Without a cache the
arithmetic is the same as diffusers' own; with a first-block cache a skipped block also skips its
hint, whose effect the cached residual already carries. It must run before the cache hooks are
applied (they wrap the block's ``forward`` as it is then).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

SCALE = "control_hidden_states_scale"
CONTROL = "control_hidden_states"


def has_vace_hints(model: Any) -> bool:
    """Whether ``model`` is a VACE transformer (hints added outside its blocks)."""
    return hasattr(model, "vace_blocks") and hasattr(getattr(model, "config", None), "vace_layers")


def fold_vace_hints(model: Any, torch: Any) -> None:
    """Add each VACE hint inside the main block it follows (see the module docstring). Idempotent."""
    if getattr(model, "_refgen_hints_folded", False):
        return
    layers = sorted(int(i) for i in model.config.vace_layers)
    hints: dict[int, Any] = {}
    scales: list[Any] = []
    signature = inspect.signature(type(model).forward)

    def before(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        bound = signature.bind(module, *args, **kwargs)
        scale = bound.arguments.get(SCALE)
        if scale is None:
            scale = bound.arguments[CONTROL].new_ones(len(layers))
        scales[:] = list(torch.unbind(torch.as_tensor(scale)))
        hints.clear()
        bound.arguments[SCALE] = torch.zeros_like(torch.as_tensor(scale))
        return bound.args[1:], bound.kwargs

    def recorder(k: int) -> Callable[[Any, Any, Any], None]:
        def record(module: Any, inputs: Any, output: Any) -> None:
            hints[layers[k]] = output[0] * scales[k]

        return record

    model.register_forward_pre_hook(before, with_kwargs=True)
    for k, block in enumerate(model.vace_blocks):
        block.register_forward_hook(recorder(k))
    for i in layers:
        _add_hint_after(model.blocks[i], i, hints)
    model._refgen_hints_folded = True


def _add_hint_after(block: Any, layer: int, hints: dict[int, Any]) -> None:
    inner = block.forward

    def forward(*args: Any, **kwargs: Any) -> Any:
        output = inner(*args, **kwargs)
        return output + hints[layer].to(output.device)

    block.forward = forward
