"""The refgen SDK: a typed client for refgen and for the Vidu API it speaks.

It imports nothing of the server (no FastAPI, SQLAlchemy or media stack), so it works wherever
``refgen`` is installed, against a refgen server or the original cloud API::

    from refgen.client import Client

    with Client() as client:  # REFGEN_BASE_URL and REFGEN_API_KEY (or VIDU_API_HOST, VIDU_API_KEY)
        task = client.reference2video(model="vidu2.0", images=["a.png", "b.jpg"], prompt="two friends")
        client.wait(task, on_progress=lambda g: print(g.state, g.progress))
        client.download(task, "friends.mp4")

See docs/sdk.md.
"""

from __future__ import annotations

import typing

from refgen import __version__
from refgen.client.async_client import AsyncClient
from refgen.client.base import CreationFile, TaskRef
from refgen.client.bodies import Subject
from refgen.client.config import DEFAULT_BASE_URL
from refgen.client.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    WaitTimeoutError,
)
from refgen.client.images import ImageInput, data_url, encode_image
from refgen.client.models import (
    TERMINAL_STATES,
    APIModel,
    CreatedTask,
    CreatedVideoTask,
    Creation,
    CreditPackage,
    CreditRemain,
    Credits,
    FramesVideoTask,
    Generation,
    ImageTask,
    Resolution,
    TaskItem,
    TaskPage,
    TextVideoTask,
    VideoInfo,
    VideoTask,
)
from refgen.client.sync_client import Client


def verify_callback(method: str, url: str, headers: typing.Any, token: str, **options: typing.Any) -> bool:
    """Whether a request your server received is a callback signed with ``token`` (the API key
    that created the task), fresh, and not a replay: :func:`refgen.callbacks.verify`, which takes
    the same arguments (``now=``, ``max_age=``, ``nonces=refgen.callbacks.NonceCache()``).

    ``url`` is the URL the callback was sent to, as registered in ``callback_url``. Imported on
    first use, so importing ``refgen.client`` loads nothing outside the SDK.
    """
    from refgen.callbacks import verify

    return verify(method, url, headers, token, **options)


__all__ = [
    "DEFAULT_BASE_URL",
    "TERMINAL_STATES",
    "APIConnectionError",
    "APIError",
    "APIModel",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "CreatedTask",
    "CreatedVideoTask",
    "Creation",
    "CreationFile",
    "CreditPackage",
    "CreditRemain",
    "Credits",
    "FramesVideoTask",
    "Generation",
    "ImageInput",
    "ImageTask",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "Resolution",
    "ServerError",
    "Subject",
    "TaskFailedError",
    "TaskItem",
    "TaskPage",
    "TaskRef",
    "TextVideoTask",
    "VideoInfo",
    "VideoTask",
    "WaitTimeoutError",
    "__version__",
    "data_url",
    "encode_image",
    "verify_callback",
]
