"""An image fetcher that serves bytes from a dict instead of the network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from refgen.errors import AddressForbidden, ImageDownloadFailure


class FakeImageFetcher:
    """Serves ``images`` by URL; every callback URL passes unless listed in ``refused``."""

    def __init__(self, images: Mapping[str, bytes] | None = None, refused: set[str] | None = None) -> None:
        self.images: dict[str, bytes] = dict(images or {})
        self.refused = set(refused or ())
        self.requested: list[str] = []

    async def check_url(self, url: str, field: str) -> None:
        if url in self.refused:
            raise AddressForbidden(f"address not allowed: {field}", field=field)

    async def fetch(self, urls: Sequence[tuple[str, str]]) -> list[bytes]:
        out = []
        for field, url in urls:
            self.requested.append(url)
            if url not in self.images:
                raise ImageDownloadFailure(f"image download failed: {field} ({url}: not found)", field=field)
            out.append(self.images[url])
        return out
