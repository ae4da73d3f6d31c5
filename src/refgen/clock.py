"""The wall clock refgen reads: timezone-aware UTC.

Components that record or compare times take a ``clock`` argument that defaults to
:func:`utcnow`, so that tests can pass a clock of their own instead of patching this one.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)
