"""Every error refgen raises, rooted at one class.

Each error carries the Vidu ``reason`` it is reported as; the HTTP status for each reason lives in
one table in :mod:`refgen.http.errors`. The class docstring is the default message.

::

    RefgenError                       InternalServiceFailure
    ├── RequestError                  BadRequest            (the client sent something we refuse)
    │   ├── FieldLacking
    │   ├── FieldInvalid
    │   │   └── AddressForbidden      (outbound guard refused a URL)
    │   ├── FieldItemCountOutOfRange
    │   ├── ImageDownloadFailure
    │   ├── ImageFormatInvalid
    │   ├── PageSizeOutOfRange
    │   ├── CreditInsufficient
    │   ├── ModelUnavailable
    │   ├── BodyTooLarge              (413)
    │   └── TaskNotCancellable
    ├── Unauthorized                  (401)
    ├── Forbidden                     (403)
    ├── TaskNotFound                  (404)
    ├── NotFound                      (404)
    ├── TooManyRequests               (429)
    ├── StoreError                    (the database failed)
    ├── FileStoreError                (the file store failed)
    └── BackendError                  (generation failed)
        ├── GenerationCancelled       (the task was cancelled while generating)
        ├── BackendUnavailable        (a backend could not load: missing extra, weights)
        └── OutOfMemory               (the accelerator ran out of memory)
"""

from __future__ import annotations

from typing import ClassVar


class RefgenError(Exception):
    """Internal service failure."""

    reason: ClassVar[str] = "InternalServiceFailure"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.field = field
        if message is None:
            message = (self.__doc__ or self.reason).strip().splitlines()[0].rstrip(".")
            if field is not None:
                message = f"{message}: {field}"
        self.message = message
        super().__init__(message)


class RequestError(RefgenError):
    """Bad request."""

    reason = "BadRequest"


class FieldLacking(RequestError):
    """field is missing or empty."""

    reason = "FieldLacking"


class FieldInvalid(RequestError):
    """invalid field."""

    reason = "FieldInvalid"


class AddressForbidden(FieldInvalid):
    """Address not allowed."""


class FieldItemCountOutOfRange(RequestError):
    """field item count out of range."""

    reason = "FieldItemCountOutOfRange"


class ImageDownloadFailure(RequestError):
    """Image could not be downloaded."""

    reason = "ImageDownloadFailure"


class ImageFormatInvalid(RequestError):
    """Image format is invalid; use PNG, JPEG or WebP."""

    reason = "ImageFormatInvalid"


class PageSizeOutOfRange(RequestError):
    """Image size or aspect ratio out of range."""

    reason = "PageSizeOutOfRange"


class CreditInsufficient(RequestError):
    """Credit balance is insufficient for this task."""

    reason = "CreditInsufficient"


class ModelUnavailable(RequestError):
    """Model is not served by this deployment."""

    reason = "ModelUnavailable"


class BodyTooLarge(RequestError):
    """Request body is larger than 20 MB."""


class TaskNotCancellable(RequestError):
    """Task can not be cancelled."""


class Unauthorized(RefgenError):
    """Missing or invalid API key."""

    reason = "Unauthorized"


class Forbidden(RefgenError):
    """Forbidden."""

    reason = "Forbidden"


class TaskNotFound(RefgenError):
    """Task not found."""

    reason = "TaskNotFound"


class NotFound(RefgenError):
    """Not found."""

    reason = "NotFound"


class TooManyRequests(RefgenError):
    """Too many requests."""

    reason = "TooManyRequests"


class StoreError(RefgenError):
    """The task store failed."""


class FileStoreError(RefgenError):
    """The file store failed."""


class BackendError(RefgenError):
    """Generation failed."""


class GenerationCancelled(BackendError):
    """Generation was cancelled."""

    reason = "UserCancelled"


class BackendUnavailable(BackendError):
    """Backend is not available."""


class OutOfMemory(BackendError):
    """The accelerator ran out of memory."""

    reason = "OutOfMemory"
