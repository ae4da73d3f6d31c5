"""Timestamps as the stores keep them: timezone-aware, in UTC.

SQLite keeps no zone (it returns naive values), PostgreSQL returns the session's zone; both stores
hand back UTC-aware datetimes so callers compare and format them without surprises.
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """``value`` converted to UTC; a naive value is refused (it is a bug in the caller)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
    return value.astimezone(UTC)


def optional_utc(value: datetime | None) -> datetime | None:
    """:func:`as_utc` for an optional timestamp."""
    return None if value is None else as_utc(value)


def from_storage(value: datetime) -> datetime:
    """A datetime read back from a database: naive ones were stored as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
