"""The SDK's models expect exactly what the server's response models send.

The SDK imports nothing of the server (it must work against Vidu's cloud too), so its models are
written separately; these tests keep the two from drifting: the same field names for each body, and
a body rendered by the server reads back field for field through the SDK.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import BaseModel

from refgen.client import errors as sdk_errors
from refgen.client import models as sdk
from refgen.contract import account
from refgen.contract import responses as server
from refgen.contract.requests import parse_create
from refgen.domain import Creation, TaskKind, TaskState
from refgen.err_codes import ErrCode
from refgen.testing.builders import make_task

PAIRS: list[tuple[type[BaseModel], type[BaseModel]]] = [
    (server.Generation, sdk.Generation),
    (server.CreationBody, sdk.Creation),
    (server.VideoInfo, sdk.VideoInfo),
    (server.FrameSize, sdk.Resolution),
    (server.CreatedVideo, sdk.VideoTask),
    (server.CreatedImage, sdk.ImageTask),
    (server.CreatedTask, sdk.CreatedTask),
    (server.CreatedVideoTask, sdk.CreatedVideoTask),
    (server.CreatedTextVideo, sdk.TextVideoTask),
    (server.CreatedFramesVideo, sdk.FramesVideoTask),
    (server.TaskListItem, sdk.TaskItem),
    (server.TaskList, sdk.TaskPage),
    (account.CreditRemain, sdk.CreditRemain),
    (account.CreditPackage, sdk.CreditPackage),
    (account.Credits, sdk.Credits),
]


class Links:
    def url(self, key: str) -> str:
        return f"http://files.test/{key}?signature=x"


@pytest.mark.parametrize(("sent", "read"), PAIRS, ids=lambda model: model.__name__)
def test_sdk_models_have_every_field_the_server_sends(sent: type[BaseModel], read: type[BaseModel]) -> None:
    assert set(sent.model_fields) == set(read.model_fields)


def test_sdk_reads_a_get_generation_body_field_for_field() -> None:
    task = make_task("t1", "k1", state=TaskState.SUCCESS)
    task.progress = 100
    task.creations = [
        Creation(
            id="t1-0",
            media_key="tasks/t1/out1/video.mp4",
            cover_key="tasks/t1/out1/cover.jpg",
            watermarked_key="tasks/t1/out1/video-watermarked.mp4",
            width=1920,
            height=1080,
            duration=5.0,
            fps=24,
        )
    ]
    body = server.generation_body(task, Links())
    read = sdk.Generation.model_validate(body)
    assert read.model_dump(mode="json", exclude_unset=False) == body
    assert read.model_extra == {}
    assert read.succeeded and read.creations[0].video is not None


SDK_CREATED: dict[TaskKind, type[BaseModel]] = {
    TaskKind.VIDEO: sdk.VideoTask,
    TaskKind.IMAGE: sdk.ImageTask,
    TaskKind.TEXT_TO_VIDEO: sdk.TextVideoTask,
    TaskKind.IMAGE_TO_VIDEO: sdk.FramesVideoTask,
    TaskKind.START_END_TO_VIDEO: sdk.FramesVideoTask,
}
CREATE_BODIES: dict[TaskKind, dict[str, object]] = {
    TaskKind.VIDEO: {"model": "viduq1", "images": ["https://example.test/a.png"], "prompt": "a cat"},
    TaskKind.IMAGE: {"model": "viduq1", "images": ["https://example.test/a.png"], "prompt": "a cat"},
    TaskKind.TEXT_TO_VIDEO: {"model": "viduq1", "prompt": "a cat", "style": "anime"},
    TaskKind.IMAGE_TO_VIDEO: {"model": "viduq1", "images": ["https://example.test/a.png"], "is_rec": True},
    TaskKind.START_END_TO_VIDEO: {
        "model": "viduq1",
        "images": ["https://example.test/a.png", "https://example.test/b.png"],
        "prompt": "a cat",
    },
}


def test_sdk_has_a_model_for_every_created_body() -> None:
    assert set(SDK_CREATED) == set(server.CREATED_MODELS)
    pairs = set(PAIRS)
    assert all((server.CREATED_MODELS[kind], SDK_CREATED[kind]) in pairs for kind in SDK_CREATED)


@pytest.mark.parametrize("kind", list(TaskKind), ids=lambda kind: kind.value)
def test_sdk_reads_a_created_body_field_for_field(kind: TaskKind) -> None:
    request = parse_create(kind, {**CREATE_BODIES[kind], "seed": 7})
    task = make_task("t1", "k1", kind=kind, created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    if kind.makes_video:
        task = replace(task, spec=replace(task.spec, duration=5, movement_amplitude="auto"))
    body = server.created(task, request).model_dump(mode="json")
    read = SDK_CREATED[kind].model_validate(body)
    assert read.model_extra == {}
    assert read.task_id == "t1"
    assert read.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    dumped = read.model_dump(mode="json")
    assert {name: dumped[name] for name in body if name != "created_at"} == {
        name: value for name, value in body.items() if name != "created_at"
    }


def test_sdk_reads_the_error_body() -> None:
    body = server.error_body(404, ErrCode.TASK_NOT_FOUND, "task not found: x", "ab" * 16)
    response = httpx.Response(404, json=body.model_dump(mode="json"))
    error = sdk_errors.error_from_response(response)
    assert isinstance(error, sdk_errors.NotFoundError)
    assert (error.code, error.reason, error.message, error.trace_id) == (
        404,
        "TaskNotFound",
        "task not found: x",
        "ab" * 16,
    )


def test_sdk_reads_a_task_list_item_field_for_field() -> None:
    task = make_task("t1", "k1", state=TaskState.SUCCESS, created_at=datetime(2026, 1, 2, tzinfo=UTC))
    task.creations = [Creation("t1-0", "m.mp4", "c.jpg", None, 1280, 720, 5.0, 24)]
    body = server.task_list([task], Links(), "next").model_dump(mode="json")
    read = sdk.TaskPage.model_validate(body)
    assert read.next_page_token == "next" and read.tasks[0].model_extra == {}
    dumped = read.tasks[0].model_dump(mode="json")
    item = body["tasks"][0]
    assert {k: dumped[k] for k in item if k != "created_at"} == {
        k: v for k, v in item.items() if k != "created_at"
    }
    assert read.tasks[0].created_at == datetime(2026, 1, 2, tzinfo=UTC)
