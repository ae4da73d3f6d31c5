"""Pipeline runners the diffusers backend tests put in place of ``pipe(**kwargs)``."""

from __future__ import annotations

from typing import Any

from refgen.backends.diffusers_base import PipelineRunner


def counting_steps(
    steps: list[int], num_inference_steps: int = 4, decodes: list[int] | None = None
) -> PipelineRunner:
    """Run the pipeline for ``num_inference_steps``, appending each step the backend's own step
    callback sees to ``steps`` and, when ``decodes`` is given, one entry per VAE decode to it."""

    def run(pipe: Any, kwargs: dict[str, Any]) -> Any:
        control = kwargs["callback_on_step_end"]

        def counting(p: Any, i: int, t: Any, k: dict[str, Any]) -> dict[str, Any]:
            steps.append(i)
            return control(p, i, t, k)

        overrides = {"callback_on_step_end": counting, "num_inference_steps": num_inference_steps}
        if decodes is None:
            return pipe(**{**kwargs, **overrides})
        decode = pipe.vae.decode

        def counting_decode(*args: Any, **kw: Any) -> Any:
            decodes.append(1)
            return decode(*args, **kw)

        pipe.vae.decode = counting_decode
        try:
            return pipe(**{**kwargs, **overrides})
        finally:
            del pipe.vae.decode  # the instance attribute goes: the class's method is back

    return run
