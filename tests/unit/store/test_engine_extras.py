"""A database whose driver is a package extra that is not installed: one message naming the extra."""

from __future__ import annotations

import sys

import pytest

from refgen.errors import StoreError
from refgen.store.engine import make_engine


def test_engine_postgres_without_its_extra_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if refgen[postgres] were not installed
    with pytest.raises(StoreError) as caught:
        make_engine("postgresql://refgen@localhost/refgen")
    assert "pip install 'refgen[postgres]'" in caught.value.message
    assert "\n" not in caught.value.message
