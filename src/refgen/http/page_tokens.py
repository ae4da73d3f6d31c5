"""``next_page_token`` of ``GET /ent/v2/tasks``: opaque to clients, signed by this server.

A token carries where the next page starts (the creation time and id of the last item shown:
keyset paging, so tasks created meanwhile neither shift nor repeat items) and the time window of
the first page (a default window ends at the first page's "now" on every later page too). Its
signature, made with the server secret, also covers the key and the filters it was issued for
(:meth:`~refgen.contract.listing.ListFilters.canonical`) without carrying them: a token that was
altered, made elsewhere, or presented by another key or with other filters is ``FieldInvalid``.

Format: ``base64url(JSON [1, last created_at µs, last id, window from µs | null, window to µs |
null]) "." signature``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from refgen.contract.listing import TOKEN_PARAMETER, UNIX_EPOCH, ListFilters, unix_micros
from refgen.errors import FieldInvalid
from refgen.task_query import TaskCursor

VERSION = 1
PURPOSE = "refgen task list page token"

Window = tuple[datetime | None, datetime | None]


class Signer(Protocol):
    """Signs and checks messages with the server secret (:class:`refgen.tokens.TokenCipher`)."""

    def sign(self, message: str) -> str: ...

    def verify(self, message: str, signature: str) -> bool: ...


@dataclass(frozen=True)
class PagePosition:
    """What a token says: continue after ``cursor``, within ``window``."""

    cursor: TaskCursor
    window: Window


class PageTokens:
    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def issue(self, key_id: str, filters: ListFilters, position: PagePosition) -> str:
        cursor, (start, end) = position.cursor, position.window
        fields = [VERSION, unix_micros(cursor.created_at), cursor.id]
        body = json.dumps([*fields, _optional_micros(start), _optional_micros(end)], separators=(",", ":"))
        encoded = base64.urlsafe_b64encode(body.encode()).rstrip(b"=").decode()
        return f"{encoded}.{self._signer.sign(_message(key_id, filters, encoded))}"

    def read(self, token: str, key_id: str, filters: ListFilters) -> PagePosition:
        """The position a token names; FieldInvalid unless this server issued it to this key for
        these filters."""
        encoded, dot, signature = token.partition(".")
        if not dot or not self._signer.verify(_message(key_id, filters, encoded), signature):
            raise _invalid()
        try:
            padded = encoded + "=" * (-len(encoded) % 4)
            version, at, task_id, start, end = json.loads(base64.urlsafe_b64decode(padded))
            if version != VERSION or not isinstance(task_id, str):
                raise ValueError(version)
            window = (_optional_moment(start), _optional_moment(end))
            return PagePosition(TaskCursor(_moment(at), task_id), window)
        except (ValueError, TypeError, OverflowError, binascii.Error):
            raise _invalid() from None


def _message(key_id: str, filters: ListFilters, encoded: str) -> str:
    return "\n".join((PURPOSE, key_id, filters.canonical(), encoded))


def _invalid() -> FieldInvalid:
    return FieldInvalid(
        f"invalid field: {TOKEN_PARAMETER} (not issued by this server for this key and these filters)",
        field=TOKEN_PARAMETER,
    )


def _optional_micros(moment: datetime | None) -> int | None:
    return None if moment is None else unix_micros(moment)


def _moment(micros: object) -> datetime:
    if not isinstance(micros, int) or isinstance(micros, bool):
        raise TypeError(micros)
    return UNIX_EPOCH + timedelta(microseconds=micros)


def _optional_moment(micros: object) -> datetime | None:
    return None if micros is None else _moment(micros)
