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
    │   ├── FieldUnwanted             (a field the rest of the request rules out)
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
    ├── IdempotencyConflict           (409: the Idempotency-Key was used with another request)
    ├── TooManyRequests               (429)
    │   ├── KeyQueueFull              (the key has too many tasks waiting)
    │   └── SystemThrottling          (the server has too many tasks waiting)
    ├── IllegalTransition             (a task cannot make this state change)
    ├── StoreError                    (the database failed)
    ├── FileStoreError                (the file store failed)
    └── BackendError                  (generation failed)
        ├── GenerationCancelled       (the task was cancelled while generating)
        ├── BackendUnavailable        (a backend could not load: missing extra, weights)
        └── OutOfMemory               (the accelerator ran out of memory)
"""

from __future__ import annotations

from typing import ClassVar

from refgen.err_codes import ErrCode


class RefgenError(Exception):
    """Internal service failure."""

    reason: ClassVar[ErrCode] = ErrCode.INTERNAL_SERVICE_FAILURE

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

    reason = ErrCode.BAD_REQUEST


class FieldLacking(RequestError):
    """field is missing or empty."""

    reason = ErrCode.FIELD_LACKING


class FieldInvalid(RequestError):
    """invalid field."""

    reason = ErrCode.FIELD_INVALID


class AddressForbidden(FieldInvalid):
    """Address not allowed."""


class FieldItemCountOutOfRange(RequestError):
    """field item count out of range."""

    reason = ErrCode.FIELD_ITEM_COUNT_OUT_OF_RANGE


class FieldUnwanted(RequestError):
    """unwanted field."""

    reason = ErrCode.FIELD_UNWANTED


class ImageDownloadFailure(RequestError):
    """Image could not be downloaded."""

    reason = ErrCode.IMAGE_DOWNLOAD_FAILURE


class ImageFormatInvalid(RequestError):
    """Image format is invalid; use PNG, JPEG or WebP."""

    reason = ErrCode.IMAGE_FORMAT_INVALID


class PageSizeOutOfRange(RequestError):
    """Image size or aspect ratio out of range."""

    reason = ErrCode.PAGE_SIZE_OUT_OF_RANGE


class CreditInsufficient(RequestError):
    """Credit balance is insufficient for this task."""

    reason = ErrCode.CREDIT_INSUFFICIENT


class ModelUnavailable(RequestError):
    """Model is not served by this deployment."""

    reason = ErrCode.MODEL_UNAVAILABLE


class BodyTooLarge(RequestError):
    """Request body is larger than 20 MB."""


class TaskNotCancellable(RequestError):
    """Task can not be cancelled."""


class Unauthorized(RefgenError):
    """Missing or invalid API key."""

    reason = ErrCode.UNAUTHORIZED


class Forbidden(RefgenError):
    """Forbidden."""

    reason = ErrCode.FORBIDDEN


class TaskNotFound(RefgenError):
    """Task not found."""

    reason = ErrCode.TASK_NOT_FOUND


class NotFound(RefgenError):
    """Not found."""

    reason = ErrCode.NOT_FOUND


class IdempotencyConflict(RefgenError):
    """This Idempotency-Key was already used with a different request; use a new key for a new request."""

    reason = ErrCode.CONFLICT


class TooManyRequests(RefgenError):
    """Too many requests."""

    reason = ErrCode.TOO_MANY_REQUESTS


class KeyQueueFull(TooManyRequests):
    """Too many requests: this key has too many tasks waiting; retry later."""


class SystemThrottling(TooManyRequests):
    """The server has too many tasks waiting; retry later."""

    reason = ErrCode.SYSTEM_THROTTLING


class IllegalTransition(RefgenError):
    """The task cannot make this state change."""


class StoreError(RefgenError):
    """The task store failed."""


class FileStoreError(RefgenError):
    """The file store failed."""


class BackendError(RefgenError):
    """Generation failed."""


class GenerationCancelled(BackendError):
    """Generation was cancelled."""

    reason = ErrCode.USER_CANCELLED


class BackendUnavailable(BackendError):
    """Backend is not available."""


class OutOfMemory(BackendError):
    """The accelerator ran out of memory."""

    reason = ErrCode.OUT_OF_MEMORY
