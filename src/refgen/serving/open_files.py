"""The process's open-files limit, raised at start-up, and the connection cap that fits inside it.

Service managers often start a process with a soft ``RLIMIT_NOFILE`` of 1,024 and a much higher hard
limit; a server that keeps the soft one runs out of descriptors after about a thousand connections.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

RESERVED_FILES = 256
"""Descriptors kept out of the connection cap: database, files, worker pipes, logs, outbound fetches."""

UNLIMITED_TARGET = 1_048_576
"""What the soft limit is raised to when the hard limit is unlimited."""


@dataclass(frozen=True)
class OpenFilesLimit:
    before: int
    soft: int
    hard: int | None  # None: unlimited
    problem: str | None = None  # why the soft limit could not be raised, if it could not

    def describe(self) -> str:
        hard = "unlimited" if self.hard is None else str(self.hard)
        if self.problem:
            return f"open files limit {self.soft} (hard {hard}; not raised: {self.problem})"
        if self.soft > self.before:
            return f"open files limit {self.soft} (raised from {self.before}, hard {hard})"
        return f"open files limit {self.soft} (hard {hard})"


def _finite(value: int) -> int | None:
    return None if value == resource.RLIM_INFINITY else value


def raise_open_files_limit() -> OpenFilesLimit:
    """Raise the soft open-files limit to the hard one (or :data:`UNLIMITED_TARGET`) where allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else UNLIMITED_TARGET
    if soft != resource.RLIM_INFINITY and soft >= target:
        return OpenFilesLimit(before=soft, soft=soft, hard=_finite(hard))
    if soft == resource.RLIM_INFINITY:
        return OpenFilesLimit(before=UNLIMITED_TARGET, soft=UNLIMITED_TARGET, hard=None)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        return OpenFilesLimit(before=soft, soft=soft, hard=_finite(hard), problem=str(exc))
    return OpenFilesLimit(before=soft, soft=target, hard=_finite(hard))


def connection_cap(wanted: int, open_files: int) -> int:
    """At most ``wanted`` connections, leaving :data:`RESERVED_FILES` descriptors (or half, if fewer)."""
    room = open_files - RESERVED_FILES if open_files > 2 * RESERVED_FILES else open_files // 2
    return max(1, min(wanted, room))
