"""Imports point inward only: the layers of docs/architecture.md, checked on the source.

Each rule names a part of the package and the parts it must never import (at module level or
inside a function). A new module that breaks a rule fails here, with the file and the import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import refgen

PACKAGE = Path(refgen.__file__).parent

# the core: the task, its lifecycle and error codes, the Vidu catalogue, the generation types
CORE = ("domain", "lifecycle", "err_codes", "errors", "generation", "contract", "clock", "task_query")
SERVER_TOP = ("service", "runtime", "resources", "http", "cli", "worker")

FORBIDDEN: dict[str, tuple[str, ...]] = {
    # the core knows nothing of adapters, assembly or transport
    **{core: ("store", "files", "backends", "media", "callbacks", "outbound", *SERVER_TOP) for core in CORE},
    # media sits below the backends: it works on frames, not on jobs of a backend
    "media": ("backends", "store", "files", "callbacks", "outbound", *SERVER_TOP),
    # the database knows tasks and their lifecycle, not what uses it
    "store": ("backends", "media", "files", "callbacks", "outbound", "keys", *SERVER_TOP),
    "files": ("backends", "media", "store", "callbacks", "outbound", *SERVER_TOP),
    "backends": ("store", "files", "callbacks", "outbound", *SERVER_TOP),
    "outbound": ("backends", "store", "files", "callbacks", *SERVER_TOP),
    "callbacks": ("backends", "media", "files", "outbound", *SERVER_TOP),
    "keys": ("store", *SERVER_TOP),
    "service": ("backends", "worker", "runtime", "http", "cli"),
    "worker": ("runtime", "http", "cli", "service", "callbacks"),
    "resources": ("runtime", "http", "cli", "worker", "service"),
    "runtime": ("http", "cli"),
    "retention": (
        "backends",
        "media",
        "callbacks",
        "outbound",
        "service",
        "worker",
        "runtime",
        "http",
        "cli",
    ),
    "http": ("cli", "worker", "backends"),
    # serving runs any ASGI app over HTTP: it knows settings, not what the app does
    "serving": (
        "store",
        "files",
        "backends",
        "media",
        "callbacks",
        "outbound",
        "service",
        "worker",
        "http",
        "cli",
    ),
    # metrics count and serve; what they count calls them, never the other way round
    "metrics": ("backends", "media", "files", "callbacks", "outbound", "keys", *SERVER_TOP),
    "logs": ("store", "files", "backends", "media", "callbacks", "outbound", "metrics", *SERVER_TOP),
}


def imported_parts(path: Path) -> Iterator[tuple[int, str]]:
    """The first component below ``refgen`` of every refgen import in ``path``, with its line."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "refgen":  # from refgen import lifecycle
                names = [f"refgen.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "refgen" and len(parts) > 1:
                yield node.lineno, parts[1]


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_layers_every_rule_names_real_parts() -> None:
    parts = {part_of(p) for p in PACKAGE.rglob("*.py")}
    named = set(FORBIDDEN) | {name for names in FORBIDDEN.values() for name in names}
    assert named <= parts, f"rules name parts that do not exist: {sorted(named - parts)}"


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_layers_imports_point_inward(part: str) -> None:
    offences = [
        f"{path.relative_to(PACKAGE)}:{line} imports refgen.{target}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if part_of(path) == part and "migrations" not in path.parts
        for line, target in imported_parts(path)
        if target in FORBIDDEN[part]
    ]
    assert offences == []


def test_layers_the_sdk_imports_nothing_of_the_server() -> None:
    allowed = {"client", "callbacks", "__init__"}  # callbacks' top level is the standard library only
    offences = [
        f"{path.relative_to(PACKAGE)}:{line} imports refgen.{target}"
        for path in sorted((PACKAGE / "client").rglob("*.py"))
        for line, target in imported_parts(path)
        if target not in allowed and target != "__version__"
    ]
    assert offences == []
