"""fetch_all with a fake fetcher: order, indexes in errors, cancellation, bounded concurrency."""

from __future__ import annotations

import asyncio

import pytest

from refgen.errors import AddressForbidden, ImageDownloadFailure
from refgen.outbound.images import fetch_all


class FakeFetcher:
    """``slow`` URLs wait, ``bad`` URLs fail, others answer their own URL as bytes."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0
        self.cancelled: list[str] = []
        self.fields: list[str | None] = []

    async def get_bytes(self, url: str, *, field: str | None = None) -> bytes:
        self.fields.append(field)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if "slow" in url:
                await asyncio.sleep(30)
            await asyncio.sleep(self.delay)
            if "forbidden" in url:
                raise AddressForbidden(f"Address not allowed: {field}", field=field)
            if "bad" in url:
                raise ImageDownloadFailure(
                    f"Image could not be downloaded: {field} (the URL answered 404)", field=field
                )
            return url.encode()
        except asyncio.CancelledError:
            self.cancelled.append(url)
            raise
        finally:
            self.in_flight -= 1


def test_fetch_all_returns_bodies_in_order() -> None:
    fetcher = FakeFetcher()
    urls = [("images[0]", "http://a/0"), ("images[2]", "http://a/2"), ("images[5]", "http://a/5")]
    assert asyncio.run(fetch_all(urls, fetcher)) == [b"http://a/0", b"http://a/2", b"http://a/5"]
    assert sorted(f or "" for f in fetcher.fields) == ["images[0]", "images[2]", "images[5]"]


def test_fetch_all_of_nothing_is_empty() -> None:
    assert asyncio.run(fetch_all([], FakeFetcher())) == []


def test_fetch_all_error_names_the_index() -> None:
    urls = [("images[0]", "http://a/0"), ("images[1]", "http://a/1"), ("images[2]", "http://a/bad")]
    with pytest.raises(ImageDownloadFailure) as info:
        asyncio.run(fetch_all(urls, FakeFetcher()))
    assert info.value.field == "images[2]"
    assert "images[2]" in info.value.message


def test_fetch_all_uses_the_given_field_name() -> None:
    with pytest.raises(AddressForbidden) as info:
        asyncio.run(fetch_all([("wm_url", "http://a/forbidden")], FakeFetcher()))
    assert info.value.field == "wm_url"


def test_fetch_all_first_failure_cancels_the_rest() -> None:
    fetcher = FakeFetcher()
    urls = [("images[0]", "http://a/slow-0"), ("images[1]", "http://a/bad"), ("images[2]", "http://a/slow-2")]

    async def main() -> None:
        async with asyncio.timeout(5):
            await fetch_all(urls, fetcher)

    with pytest.raises(ImageDownloadFailure):
        asyncio.run(main())
    assert sorted(fetcher.cancelled) == ["http://a/slow-0", "http://a/slow-2"]


def test_fetch_all_bounds_concurrency() -> None:
    fetcher = FakeFetcher(delay=0.02)
    urls = [(f"images[{i}]", f"http://a/{i}") for i in range(7)]
    assert len(asyncio.run(fetch_all(urls, fetcher, concurrency=3))) == 7
    assert fetcher.most_in_flight == 3


def test_fetch_all_default_concurrency_is_four() -> None:
    fetcher = FakeFetcher(delay=0.02)
    asyncio.run(fetch_all([(f"images[{i}]", f"http://a/{i}") for i in range(7)], fetcher))
    assert fetcher.most_in_flight == 4


def test_fetch_all_lets_outside_cancellation_through() -> None:
    fetcher = FakeFetcher()

    async def main() -> None:
        async with asyncio.timeout(0.05):
            await fetch_all([("images[0]", "http://a/slow")], fetcher)

    with pytest.raises(TimeoutError):
        asyncio.run(main())
    assert fetcher.cancelled == ["http://a/slow"]
