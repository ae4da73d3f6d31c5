"""Fetching a request's image URLs: in parallel, bounded, first failure wins.

The create endpoints fetch image URLs while the request is handled, so a bad image is a 400 at
once (see the spec's "Image inputs"). :func:`fetch_all` runs the downloads through the guarded
client with a bounded number in flight; the first failure cancels the rest and is raised with
the image's index in its message (``images[2]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import anyio

from refgen.errors import RefgenError

DEFAULT_CONCURRENCY = 4


class ByteFetcher(Protocol):
    """What :func:`fetch_all` needs of a client; :class:`~refgen.outbound.GuardedClient` is one."""

    async def get_bytes(self, url: str, *, field: str | None = None) -> bytes: ...


async def fetch_all(
    urls: Sequence[tuple[str, str]],
    client: ByteFetcher,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[bytes]:
    """Download ``urls`` — ``(field, url)`` pairs, the field as messages name it (``images[2]``,
    ``wm_url``) — in parallel.

    Returns the bodies in the order of ``urls``. At most ``concurrency`` downloads run at once.
    The first download to fail cancels the others, and its error (a
    :class:`~refgen.errors.RefgenError` whose field is e.g. ``images[2]``) is raised.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    results: list[bytes | None] = [None] * len(urls)
    failures: list[RefgenError] = []
    slots = anyio.Semaphore(concurrency)

    async def fetch(position: int, field: str, url: str) -> None:
        async with slots:
            try:
                results[position] = await client.get_bytes(url, field=field)
            except RefgenError as exc:
                failures.append(exc)
                raise

    try:
        async with anyio.create_task_group() as group:
            for position, (field, url) in enumerate(urls):
                group.start_soon(fetch, position, field, url)
    except BaseExceptionGroup as exc_group:
        _, others = exc_group.split(RefgenError)
        if failures and others is None:
            raise failures[0] from None
        raise
    bodies = [body for body in results if body is not None]
    if len(bodies) != len(urls):  # pragma: no cover - every task either stored a body or raised
        raise RuntimeError("a download finished without a result")
    return bodies
