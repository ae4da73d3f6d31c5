"""Answers as typed models and errors as the error tree, including answers refgen would not give."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import httpx
import pytest

from refgen.client import (
    APIError,
    AuthenticationError,
    Generation,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    VideoTask,
    data_url,
    encode_image,
)
from refgen.client.errors import error_from_response
from tests.images import picture


def test_models_tolerate_missing_and_extra_fields() -> None:
    cloud = Generation.model_validate(
        {
            "id": "1",
            "state": "success",
            "err_code": "",
            "credits": "4",
            "creations": [{"id": "c", "url": "u"}],
        }
    )
    assert cloud.progress is None and cloud.creations[0].video is None and cloud.credits == 4
    task = VideoTask.model_validate({"task_id": "9", "state": "created", "seed": "12", "brand_new": [1]})
    assert task.seed == 12 and task.model_extra == {"brand_new": [1]}


@pytest.mark.parametrize(
    ("status", "reason", "cls"),
    [
        (400, "FieldInvalid", InvalidRequestError),
        (413, "BadRequest", InvalidRequestError),
        (401, "Unauthorized", AuthenticationError),
        (403, "Forbidden", AuthenticationError),
        (404, "TaskNotFound", NotFoundError),
        (429, "TooManyRequests", RateLimitError),
        (500, "InternalServiceFailure", ServerError),
        (503, "InternalServiceFailure", ServerError),
    ],
)
def test_errors_map_by_status(status: int, reason: str, cls: type[APIError]) -> None:
    body = {"code": status, "reason": reason, "message": "m", "metadata": {"trace_id": "t" * 32}}
    error = error_from_response(httpx.Response(status, json=body))
    assert type(error) is cls
    assert (error.code, error.reason, error.message, error.trace_id) == (status, reason, "m", "t" * 32)
    assert str(error) == f"{reason}: m (HTTP {status}) [trace_id {'t' * 32}]"


def test_errors_from_bodies_that_are_not_the_contract() -> None:
    page = httpx.Response(502, text="<html>\nBad gateway\n</html>", headers={"X-Trace-Id": "abc"})
    error = error_from_response(page)
    assert isinstance(error, ServerError) and error.code == 502 and error.trace_id == "abc"
    assert "\n" not in str(error) and "Bad gateway" in error.message
    ok_with_code = error_from_response(httpx.Response(200, json={"code": 400, "reason": "FieldLacking"}))
    assert isinstance(ok_with_code, InvalidRequestError) and ok_with_code.message == "FieldLacking"


def test_images_are_typed_by_their_bytes(tmp_path: Path) -> None:
    jpeg = picture(200, 200, fmt="JPEG")
    mislabelled = tmp_path / "photo.png"
    mislabelled.write_bytes(jpeg)
    assert encode_image(mislabelled).startswith("data:image/jpeg;base64,")
    assert encode_image(picture(200, 200, fmt="WEBP")).startswith("data:image/webp;base64,")
    assert encode_image(bytearray(picture())).startswith("data:image/png;base64,")
    assert encode_image("https://example.com/a.png") == "https://example.com/a.png"
    assert encode_image("data:image/png;base64,AAAA") == "data:image/png;base64,AAAA"
    assert data_url(b"\x00\x01", "image/x-mine") == "data:image/x-mine;base64,AAE="


def test_images_from_pil_in_any_mode() -> None:
    from PIL import Image

    for mode in ("RGB", "RGBA", "L", "CMYK", "P"):
        url = encode_image(Image.new(mode, (160, 130)))
        data = base64.b64decode(url.split(",", 1)[1])
        assert url.startswith("data:image/png;base64,")
        assert Image.open(io.BytesIO(data)).size == (160, 130)


def test_cancel_answer_with_an_error_code_is_an_error() -> None:
    from refgen.client import Client

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"code": 400, "reason": "BadRequest", "message": "task state is success, can not cancel"}
        return httpx.Response(200, json=body)

    with Client("k", transport=httpx.MockTransport(handler)) as client, pytest.raises(InvalidRequestError):
        client.cancel("t")
