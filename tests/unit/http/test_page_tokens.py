"""Page tokens of the task list: they round-trip, and only for the key and filters they were issued for."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from refgen.contract.listing import ListFilters
from refgen.domain import TaskState
from refgen.errors import FieldInvalid
from refgen.http.page_tokens import PagePosition, PageTokens
from refgen.task_query import TaskCursor
from refgen.tokens import TokenCipher

FILTERS = ListFilters(states=(TaskState.SUCCESS,), models=("viduq1",))
POSITION = PagePosition(
    TaskCursor(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "task-9"),
    (datetime(2025, 12, 26, tzinfo=UTC), datetime(2026, 1, 2, 12, tzinfo=UTC)),
)
TOKENS = PageTokens(TokenCipher(b"s" * 48))


def test_page_token_round_trips() -> None:
    token = TOKENS.issue("key-a", FILTERS, POSITION)
    assert TOKENS.read(token, "key-a", FILTERS) == POSITION
    open_window = PagePosition(POSITION.cursor, (None, None))
    assert TOKENS.read(TOKENS.issue("key-a", FILTERS, open_window), "key-a", FILTERS) == open_window


def test_page_token_reads_the_same_filters_however_sent() -> None:
    token = TOKENS.issue("key-a", FILTERS, POSITION)
    again = ListFilters(states=(TaskState.SUCCESS, TaskState.SUCCESS), models=("viduq1",))
    assert TOKENS.read(token, "key-a", again) == POSITION


@pytest.mark.parametrize(
    ("key", "filters"),
    [
        ("key-b", FILTERS),
        ("key-a", ListFilters()),
        ("key-a", ListFilters(states=(TaskState.SUCCESS,), models=("viduq1",), resolutions=("720p",))),
        ("key-a", ListFilters(states=(TaskState.FAILED,), models=("viduq1",))),
    ],
)
def test_page_token_refused_for_another_key_or_other_filters(key: str, filters: ListFilters) -> None:
    token = TOKENS.issue("key-a", FILTERS, POSITION)
    with pytest.raises(FieldInvalid, match=r"pager\.page_token"):
        TOKENS.read(token, key, filters)


def test_page_token_refused_when_altered_or_foreign() -> None:
    token = TOKENS.issue("key-a", FILTERS, POSITION)
    body, _, signature = token.partition(".")
    decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).replace(b"task-9", b"task-1")
    forged = base64.urlsafe_b64encode(decoded).rstrip(b"=").decode()
    other_server = PageTokens(TokenCipher(b"t" * 48)).issue("key-a", FILTERS, POSITION)
    for bad in (f"{forged}.{signature}", other_server, body, f"{body}.", "", "..", token + "x"):
        with pytest.raises(FieldInvalid):
            TOKENS.read(bad, "key-a", FILTERS)


def test_page_token_signed_garbage_is_refused() -> None:
    cipher = TokenCipher(b"s" * 48)
    for payload in (b'[2,1,"a",null,null]', b"{}", b'[1,"x","a",null,null]', b"not json"):
        body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        message = "\n".join(("refgen task list page token", "key-a", FILTERS.canonical(), body))
        with pytest.raises(FieldInvalid):
            TOKENS.read(f"{body}.{cipher.sign(message)}", "key-a", FILTERS)
