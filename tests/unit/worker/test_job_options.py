"""What a job takes from its task beyond the fields: the style that takes effect, the prompt it follows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from refgen.domain import TaskKind
from refgen.testing.builders import make_task
from refgen.worker.execute import effective_style, job_prompt


@pytest.mark.parametrize(
    ("model", "expected"), [("viduq1", "anime"), ("vidu1.5", "anime"), ("viduq2", "general")]
)
def test_effective_style_follows_the_catalogue(model: str, expected: str) -> None:
    task = make_task("t1", "k1", model=model, kind=TaskKind.TEXT_TO_VIDEO)
    task.spec = replace(task.spec, style="anime")
    assert effective_style(task) == expected


def test_effective_style_of_an_unknown_model_is_general() -> None:
    task = make_task("t1", "k1", model="no-such-model", kind=TaskKind.TEXT_TO_VIDEO)
    task.spec = replace(task.spec, style="anime")
    assert effective_style(task) == "general"


@pytest.mark.parametrize(("is_rec", "expected"), [(False, "a cat and a dog play chess"), (True, "")])
def test_job_prompt_ignores_the_clients_prompt_with_is_rec(is_rec: bool, expected: str) -> None:
    task = make_task("t1", "k1", kind=TaskKind.IMAGE_TO_VIDEO)
    task.spec = replace(task.spec, is_rec=is_rec)
    assert job_prompt(task) == expected
