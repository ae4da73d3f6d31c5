"""The contract's error codes, defined once.

Every ``reason`` of a Vidu error body and every ``err_code`` a failed task reports is one
:class:`ErrCode`; :mod:`refgen.errors` takes its reasons from here and the stores, the task
lifecycle (:mod:`refgen.lifecycle`) and the worker name them instead of writing the strings.
"""

from __future__ import annotations

from enum import StrEnum


class ErrCode(StrEnum):
    # the client sent something we refuse (HTTP 400 unless noted)
    BAD_REQUEST = "BadRequest"
    FIELD_LACKING = "FieldLacking"
    FIELD_INVALID = "FieldInvalid"
    FIELD_ITEM_COUNT_OUT_OF_RANGE = "FieldItemCountOutOfRange"
    FIELD_UNWANTED = "FieldUnwanted"  # a field that cannot be combined with the rest of the request
    IMAGE_DOWNLOAD_FAILURE = "ImageDownloadFailure"
    IMAGE_FORMAT_INVALID = "ImageFormatInvalid"
    PAGE_SIZE_OUT_OF_RANGE = "PageSizeOutOfRange"
    CREDIT_INSUFFICIENT = "CreditInsufficient"
    MODEL_UNAVAILABLE = "ModelUnavailable"
    UNAUTHORIZED = "Unauthorized"  # 401
    FORBIDDEN = "Forbidden"  # 403
    TASK_NOT_FOUND = "TaskNotFound"  # 404
    NOT_FOUND = "NotFound"  # 404
    CONFLICT = "Conflict"  # 409: an Idempotency-Key already used with another request
    TOO_MANY_REQUESTS = "TooManyRequests"  # 429 (also: the key has too many tasks waiting)
    SYSTEM_THROTTLING = "SystemThrottling"  # 429: the server has too many tasks waiting
    # a failed task's err_code (and, for InternalServiceFailure, HTTP 500)
    USER_CANCELLED = "UserCancelled"  # the client cancelled the task
    QUOTA_EXCEEDED = "QuotaExceeded"  # an off-peak task was not started within the expiry
    OUT_OF_MEMORY = "OutOfMemory"  # the accelerator ran out of memory
    INTERNAL_SERVICE_FAILURE = "InternalServiceFailure"  # generation failed, or its workers kept dying
