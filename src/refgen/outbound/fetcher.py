"""What the create endpoints fetch and check: image URLs and callback URLs, through the guarded client."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import anyio

from refgen.errors import ImageDownloadFailure
from refgen.media.images import MAX_IMAGE_BYTES
from refgen.outbound.addresses import AddressPolicy, IPNetwork
from refgen.outbound.client import GuardedClient, Resolver
from refgen.outbound.images import fetch_all


class GuardedImageFetcher:
    """Fetches a request's image URLs in parallel; ``timeout`` bounds them all together."""

    def __init__(
        self,
        allow_networks: Iterable[IPNetwork | str] = (),
        *,
        timeout: float = 20.0,
        max_bytes: int = MAX_IMAGE_BYTES,
        resolver: Resolver | None = None,
    ) -> None:
        self._policy = AddressPolicy(allow_networks)
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._resolver = resolver

    def _client(self) -> GuardedClient:
        return GuardedClient(
            self._policy, timeout=self._timeout, max_bytes=self._max_bytes, resolver=self._resolver
        )

    async def check_url(self, url: str, field: str) -> None:
        async with self._client() as client:
            await client.check_url(url, field=field)

    async def fetch(self, urls: Sequence[tuple[str, str]]) -> list[bytes]:
        async with self._client() as client:
            with anyio.move_on_after(self._timeout) as scope:
                return await fetch_all(urls, client)
        assert scope.cancelled_caught
        fields = ", ".join(field for field, _ in urls)
        raise ImageDownloadFailure(
            f"image download failed: {fields} (took longer than {self._timeout:.0f} s)", field=urls[0][0]
        )
