"""axe-core scans of the console in the browser: the vendored ``axe.min.js`` is injected into the
page and run against WCAG 2 A/AA; findings of ``serious`` or ``critical`` impact fail the test."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def axe_findings(page: Page) -> list[dict[str, Any]]:
    """Every violation axe-core finds on the page as it is now (all impacts)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluated through the DevTools protocol: the page's CSP forbids inline scripts
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def blocking(page: Page) -> list[str]:
    """The serious and critical findings, one line each: rule, impact, the elements it names."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:5])
        for v in axe_findings(page)
        if v["impact"] in BLOCKING
    ]
