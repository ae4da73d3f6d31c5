"""The task list's query parameters parsed (refgen.contract.listing) and the account body
(refgen.contract.account), without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from refgen.contract.account import UNLIMITED, credits_body, parse_show_detail
from refgen.contract.listing import ListFilters, model_name, parse_list_query, parse_time, time_window
from refgen.domain import TaskState
from refgen.errors import FieldInvalid, FieldItemCountOutOfRange, PageSizeOutOfRange
from refgen.task_query import KeyUsage
from refgen.testing.store import make_api_key

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def test_listing_reads_repeated_bracketed_and_comma_lists() -> None:
    asked = parse_list_query(
        [
            ("task_ids", "a"),
            ("task_ids[]", "b"),
            ("task_ids", "c, d,"),
            ("states", "success,failed"),
            ("x", "y"),
        ]
    )
    assert asked.filters.task_ids == ("a", "b", "c", "d")
    assert asked.filters.states == (TaskState.SUCCESS, TaskState.FAILED)
    assert (asked.page, asked.page_size, asked.page_token) == (0, 10, "")


def test_listing_empty_values_are_not_given() -> None:
    asked = parse_list_query([("states", ""), ("paper.pagesz", ""), ("created_at.to", " ")])
    assert asked.filters == ListFilters() and asked.page_size == 10


def test_listing_counts_every_task_ids_sent_even_empty_ones() -> None:
    """The schema's limit is on the repeated parameter: 101 of them is too many, empty or not."""
    parse_list_query([("task_ids", "")] * 100)
    with pytest.raises(FieldItemCountOutOfRange):
        parse_list_query([("task_ids", "")] * 101)
    with pytest.raises(FieldItemCountOutOfRange):
        parse_list_query([("task_ids[]", "a")] * 101)


def test_listing_reads_ascii_digits_and_whitespace_only() -> None:
    assert parse_list_query([("paper.pagesz", " 5\t")]).page_size == 5
    with pytest.raises(FieldInvalid):
        parse_list_query([("paper.page", "\u0665")])  # an Arabic-Indic five is not a page number
    with pytest.raises(FieldInvalid):
        parse_list_query([("states", "\u2003success")])  # nor is an em space whitespace here


def test_listing_every_value_sent_must_be_valid_though_the_last_counts() -> None:
    assert parse_list_query([("paper.pagesz", "7"), ("limit", "3")]).page_size == 3
    with pytest.raises(FieldInvalid):
        parse_list_query([("paper.pagesz", "many"), ("limit", "3")])
    with pytest.raises(PageSizeOutOfRange):
        parse_list_query([("pager.pagesz", "1000"), ("limit", "3")])
    with pytest.raises(FieldInvalid):
        parse_list_query([("created_at.from", "yesterday"), ("created_at.from", "2026-01-01T00:00:00Z")])


def test_listing_model_versions_with_or_without_prefix() -> None:
    asked = parse_list_query(
        [("model_versions", "q1"), ("model_versions", "viduq2-pro"), ("model_versions", "2.0")]
    )
    assert asked.filters.models == ("viduq1", "viduq2-pro", "vidu2.0")
    assert model_name("q3-turbo") == "viduq3-turbo"


def test_listing_page_synonyms_last_one_counts() -> None:
    asked = parse_list_query(
        [("paper.pagesz", "5"), ("pager.pagesz", "7"), ("pager.page", "2"), ("pager.page_token", "t")]
    )
    assert (asked.page, asked.page_size, asked.page_token) == (2, 7, "t")
    assert parse_list_query([("limit", "100")]).page_size == 100


@pytest.mark.parametrize(
    ("params", "error", "field"),
    [
        ([("paper.pagesz", "0")], PageSizeOutOfRange, "paper.pagesz"),
        ([("pager.pagesz", "101")], PageSizeOutOfRange, "pager.pagesz"),
        ([("paper.pagesz", "1.5")], FieldInvalid, "paper.pagesz"),
        ([("paper.page", "-1")], FieldInvalid, "paper.page"),
        ([("paper.page", "99999999999")], FieldInvalid, "paper.page"),
        ([("states", "done")], FieldInvalid, "states"),
        ([("created_at.from", "2026-02-30T00:00:00Z")], FieldInvalid, "created_at.from"),
        ([("task_ids", ",".join(str(i) for i in range(101)))], FieldItemCountOutOfRange, "task_ids"),
    ],
)
def test_listing_refusals_name_the_parameter(
    params: list[tuple[str, str]], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as raised:
        parse_list_query(params)
    assert getattr(raised.value, "field", None) == field


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T11:04:05.5+08:00", datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("1767323045", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("1767323045.25", datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        ("tomorrow", None),
        ("999999999999", None),
        ("", None),
    ],
)
def test_listing_parse_time(text: str, expected: datetime | None) -> None:
    assert parse_time(text) == expected


def test_listing_default_window_is_7_days_unless_task_ids() -> None:
    week = timedelta(days=7)
    assert time_window(ListFilters(), NOW) == (NOW - week, NOW)
    end = NOW - timedelta(days=30)
    assert time_window(ListFilters(created_to=end), NOW) == (end - week, end)
    start = NOW - timedelta(days=40)
    assert time_window(ListFilters(created_from=start), NOW) == (start, NOW)
    assert time_window(ListFilters(task_ids=("a",)), NOW) == (None, None)
    assert time_window(ListFilters(task_ids=("a",), created_to=end), NOW) == (None, end)
    earliest = datetime.min.replace(tzinfo=UTC)
    assert time_window(ListFilters(created_to=earliest), NOW) == (earliest, earliest)


def test_listing_canonical_filters_ignore_order_and_repeats() -> None:
    one = parse_list_query([("states", "success"), ("states", "failed"), ("model_versions", "q1")])
    two = parse_list_query([("states", "failed,success,failed"), ("model_versions", "viduq1")])
    assert one.filters.canonical() == two.filters.canonical()
    assert one.filters.canonical() != parse_list_query([("states", "failed")]).filters.canonical()
    assert ListFilters().canonical() != ListFilters(task_ids=()).canonical()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("False", False), ("0", False), ("", False), (None, False)],
)
def test_account_show_detail(value: str | None, expected: bool) -> None:
    assert parse_show_detail(value) is expected


def test_account_show_detail_refuses_other_values() -> None:
    with pytest.raises(FieldInvalid, match="show_detail"):
        parse_show_detail("yes")


def test_account_figures_of_a_key_with_a_limit() -> None:
    key = make_api_key(
        "studio", credits=940, concurrency=5, created_at=datetime(2026, 1, 5, 10, 0, 0, 123, tzinfo=UTC)
    )
    usage = KeyUsage(balance=940, charged=60, held=8, processing=1, waiting=2)
    body = credits_body(key, usage, detailed=True).model_dump()
    remain = {
        "type": "metered",
        "credit_remain": 932,
        "concurrency_limit": 5,
        "current_concurrency": 1,
        "queue_count": 2,
    }
    assert body["remains"] == body["remaining_credits"] == [remain]
    assert body["packages"] == [
        {
            "id": "key-studio",
            "name": "studio",
            "type": "metered",
            "concurrency": 5,
            "credit_amount": 1000,
            "credit_remain": 932,
            "created_at": "2026-01-05T10:00:00Z",
            "purchase_at": "2026-01-05T10:00:00Z",
            "valid_from": "2026-01-05T10:00:00Z",
            "valid_to": "9999-12-31T23:59:59Z",
        }
    ]
    assert credits_body(key, usage, detailed=False).packages == []


def test_account_figures_of_an_unlimited_key() -> None:
    body = credits_body(make_api_key("free"), KeyUsage(None, 500, 9, 0, 0), detailed=True)
    assert body.remains[0].credit_remain == body.packages[0].credit_amount == UNLIMITED
