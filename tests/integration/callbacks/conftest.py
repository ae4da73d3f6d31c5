"""A callback receiver on a free loopback port, not listening until the test starts it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.callbacks.receiver import Receiver, free_port


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(free_port())
    yield receiver
    receiver.stop()
