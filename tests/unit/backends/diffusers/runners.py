"""Pipeline runners the diffusers backend tests put in place of ``pipe(**kwargs)``."""

from __future__ import annotations

from typing import Any

from refgen.backends.diffusers_base import PipelineRunner


def counting_steps(steps: list[int], num_inference_steps: int = 4) -> PipelineRunner:
    """Run the pipeline for ``num_inference_steps``, appending each step the backend's own step
    callback sees to ``steps``; asserts the pipeline's interrupt flag was set (the run was cut short)."""

    def run(pipe: Any, kwargs: dict[str, Any]) -> Any:
        control = kwargs["callback_on_step_end"]

        def counting(p: Any, i: int, t: Any, k: dict[str, Any]) -> dict[str, Any]:
            steps.append(i)
            return control(p, i, t, k)

        overrides = {"callback_on_step_end": counting, "num_inference_steps": num_inference_steps}
        result = pipe(**{**kwargs, **overrides})
        assert pipe.interrupt  # the pipeline's own flag was set and honoured
        return result

    return run
