"""The console against the contract: it offers exactly the options the spec's tables allow for each
model, prices them as the server does, refuses bad pictures with the server's own words, and the
API docs work offline."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from refgen.contract.catalogue import CATALOGUE
from refgen.domain import TaskKind
from tests.browser.conftest import Console, ConsoleServer, open_console
from tests.images import bomb_png, data_url, gif, picture

pytestmark = pytest.mark.slow

AMPLITUDES = ["auto", "small", "medium", "large"]
VIDEO_RATIOS = ["16:9", "9:16", "1:1"]
IMAGE_RATIOS = ["16:9", "9:16", "1:1", "3:4", "4:3"]

# The spec's tables (shared/spec/vidu-api.md), written out independently of the catalogue:
# per model, duration -> (resolutions, default resolution, credits per resolution).
VIDEO_SPEC: dict[str, dict[str, Any]] = {
    "viduq2": {
        "durations": {
            d: (["540p", "720p", "1080p"], "720p", {"540p": d, "720p": d, "1080p": 2 * d})
            for d in range(1, 11)
        },
        "default_duration": 5,
        "ratios": [*VIDEO_RATIOS, "4:3", "3:4"],
        "prompt_max": 2000,
        "amplitude_enabled": False,  # accepted and ignored: offered, but not choosable
    },
    "viduq1": {
        "durations": {5: (["1080p"], "1080p", {"1080p": 8})},
        "default_duration": 5,
        "ratios": VIDEO_RATIOS,
        "prompt_max": 1500,
        "amplitude_enabled": True,
    },
    "vidu2.0": {
        "durations": {4: (["360p", "720p"], "360p", {"360p": 2, "720p": 4})},
        "default_duration": 4,
        "ratios": VIDEO_RATIOS,
        "prompt_max": 1500,
        "amplitude_enabled": True,
    },
    "vidu1.5": {
        "durations": {
            4: (["360p", "720p", "1080p"], "360p", {"360p": 4, "720p": 10, "1080p": 20}),
            8: (["720p"], "720p", {"720p": 20}),
        },
        "default_duration": 4,
        "ratios": VIDEO_RATIOS,
        "prompt_max": 1500,
        "amplitude_enabled": True,
    },
    # added by the video family's page (aggregator copies): priced per second, as viduq2
    "viduq2-pro": {
        "durations": {
            d: (["540p", "720p", "1080p"], "720p", {"540p": 2 * d, "720p": 2 * d, "1080p": 4 * d})
            for d in range(1, 11)
        },
        "default_duration": 5,
        "ratios": [*VIDEO_RATIOS, "4:3", "3:4"],
        "prompt_max": 2000,
        "amplitude_enabled": True,
    },
    "viduq2-pro-fast": {
        "durations": {d: (["720p", "1080p"], "720p", {"720p": d, "1080p": 2 * d}) for d in range(1, 11)},
        "default_duration": 5,
        "ratios": [*VIDEO_RATIOS, "4:3", "3:4"],
        "prompt_max": 2000,
        "amplitude_enabled": True,
    },
}
IMAGE_SPEC: dict[str, dict[str, Any]] = {
    "viduq2": {
        "resolutions": (["1080p", "2K", "4K"], "1080p", {"1080p": 1, "2K": 2, "4K": 4}),
        "ratios": [*IMAGE_RATIOS, "21:9", "2:3", "3:2", "auto"],
        "images": "up to 7",
    },
    "viduq1": {
        "resolutions": (["1080p"], "1080p", {"1080p": 1}),
        "ratios": [*IMAGE_RATIOS, "auto"],
        "images": "1–7",
    },
}


def offered(page: Page, control: str) -> list[tuple[str, bool, bool]]:
    """(value, enabled, checked) for each choice a control offers."""
    values = page.locator(f'[data-control="{control}"] input[type="radio"]').evaluate_all(
        "els => els.map(e => [e.value, !e.disabled, e.checked])"
    )
    return [tuple(v) for v in values]  # type: ignore[misc]


def enabled(page: Page, control: str) -> list[str]:
    return [value for value, on, _ in offered(page, control) if on]


def selected(page: Page, control: str) -> str:
    return next(value for value, _, checked in offered(page, control) if checked)


def price(page: Page) -> int:
    return int(page.locator("#price").get_attribute("data-credits") or "-1")


def test_console_offers_exactly_the_spec_options_for_every_video_model(
    desktop: Console, tmp_path: Path
) -> None:
    page = desktop.page
    (tmp_path / "p.png").write_bytes(picture())
    page.set_input_files("#file-input", str(tmp_path / "p.png"))
    expect(page.locator('.thumb[data-state="ok"]')).to_have_count(1)
    assert [v for v, on, _ in offered(page, "model")] == list(VIDEO_SPEC)
    for model, spec in VIDEO_SPEC.items():
        page.check(f'input[name="model"][value="{model}"]')
        options = CATALOGUE[(TaskKind.VIDEO, model)]
        assert enabled(page, "duration") == [str(d) for d in spec["durations"]]
        assert selected(page, "duration") == str(spec["default_duration"]) == str(options.default_duration)
        assert enabled(page, "aspect_ratio") == spec["ratios"]
        assert selected(page, "aspect_ratio") == "16:9"
        amplitudes = offered(page, "movement_amplitude")
        assert [v for v, _, _ in amplitudes] == AMPLITUDES
        assert all(on == spec["amplitude_enabled"] for _, on, _ in amplitudes)
        assert selected(page, "movement_amplitude") == "auto"
        expect(page.locator("#prompt-count")).to_have_text(f"0 / {spec['prompt_max']}")
        expect(page.locator("#images-label")).to_contain_text("1 of 1–7")
        assert selected(page, "resolution") == spec["durations"][spec["default_duration"]][1]
        for duration, (resolutions, default, credits) in spec["durations"].items():
            page.check(f'input[name="duration"][value="{duration}"]')
            assert enabled(page, "resolution") == resolutions, (model, duration)
            if duration != spec["default_duration"] and len(resolutions) == 1:
                assert selected(page, "resolution") == default  # the only one, so the default
            for resolution in resolutions:
                page.check(f'input[name="resolution"][value="{resolution}"]')
                assert price(page) == credits[resolution], (model, duration, resolution)
                assert price(page) == options.credits(duration, resolution, off_peak=False)
                page.check('input[name="off_peak"]')
                assert price(page) == math.ceil(credits[resolution] / 2), (model, duration, resolution)
                assert price(page) == options.credits(duration, resolution, off_peak=True)
                page.uncheck('input[name="off_peak"]')
    desktop.shot("options-video-walk")


def test_console_offers_exactly_the_spec_options_for_every_image_model(
    desktop: Console, tmp_path: Path
) -> None:
    page = desktop.page
    page.click('[data-kind="reference2image"]')
    assert [v for v, _, _ in offered(page, "model")] == list(IMAGE_SPEC)
    assert not page.locator('[data-control="duration"]').count()
    assert not page.locator('[data-control="movement_amplitude"]').count()
    assert not page.locator('[data-control="off_peak"]').count()
    for model, spec in IMAGE_SPEC.items():
        page.check(f'input[name="model"][value="{model}"]')
        resolutions, default, credits = spec["resolutions"]
        assert enabled(page, "resolution") == resolutions
        assert selected(page, "resolution") == default
        for resolution in resolutions:
            page.check(f'input[name="resolution"][value="{resolution}"]')
            assert price(page) == credits[resolution]
        expect(page.locator("#prompt-count")).to_have_text("0 / 2000")
        expect(page.locator("#images-label")).to_contain_text(f"0 of {spec['images']}")
        # auto takes the first picture's ratio: offered, but not choosable until there is one
        assert [v for v, _, _ in offered(page, "aspect_ratio")] == spec["ratios"]
        assert enabled(page, "aspect_ratio") == [r for r in spec["ratios"] if r != "auto"]
    # text to image (viduq2, no picture) can be submitted; viduq1 needs a picture
    page.check('input[name="model"][value="viduq2"]')
    page.fill("#prompt", "a lighthouse in a storm")
    expect(page.locator("#submit")).to_be_enabled()
    page.check('input[name="model"][value="viduq1"]')
    expect(page.locator("#submit")).to_be_disabled()
    expect(page.locator("#blockers")).to_contain_text(
        "FieldItemCountOutOfRange field item count out of range: images (viduq1 takes 1 to 7)"
    )
    (tmp_path / "p.png").write_bytes(picture())
    page.set_input_files("#file-input", str(tmp_path / "p.png"))
    expect(page.locator('.thumb[data-state="ok"]')).to_have_count(1)
    for model, spec in IMAGE_SPEC.items():
        page.check(f'input[name="model"][value="{model}"]')
        assert enabled(page, "aspect_ratio") == spec["ratios"]
    page.check('input[name="aspect_ratio"][value="auto"]')
    page.click('button[aria-label="Remove picture 1"]')
    assert selected(page, "aspect_ratio") == "16:9", "auto stayed chosen with no picture"
    desktop.shot("options-image-walk")


def test_console_catalogue_is_the_servers(console_server: ConsoleServer) -> None:
    """The walks above read the page; the page reads this, and this matches the spec tables."""
    catalogue = httpx.get(f"{console_server.base_url}/ent/v2/models").json()
    for model, spec in VIDEO_SPEC.items():
        entry = catalogue["reference2video"][model]
        assert [int(d) for d in entry["durations"]] == list(spec["durations"])
        for duration, (resolutions, default, _) in spec["durations"].items():
            option = entry["durations"][str(duration)]
            assert (option["resolutions"], option["default_resolution"]) == (resolutions, default)
    for model, spec in IMAGE_SPEC.items():
        assert catalogue["reference2image"][model]["aspect_ratios"] == spec["ratios"]


BAD_PICTURES = {
    "too-small.png": lambda: picture(64, 64),
    "too-tall.png": lambda: picture(200, 1000),
    "animation.gif": gif,
    "too-big.png": lambda: picture() + b"\0" * (10 * 1024 * 1024),
    "bomb.png": lambda: bomb_png(9000, 5000),
    "cut-short.png": lambda: picture()[:20],
    "not-a-picture.png": lambda: b"hello, I am text, not a picture",
}


@pytest.mark.parametrize("name", list(BAD_PICTURES))
def test_console_refuses_a_bad_picture_with_the_servers_reason_and_message(
    desktop: Console, console_server: ConsoleServer, tmp_path: Path, name: str
) -> None:
    data = BAD_PICTURES[name]()
    server = httpx.post(
        f"{console_server.base_url}/ent/v2/reference2video",
        json={"model": "vidu2.0", "images": [data_url(data)], "prompt": "x"},
        headers={"Authorization": f"Token {console_server.token}"},
        timeout=30,
    )
    assert server.status_code == 400, server.text
    page = desktop.page
    (tmp_path / name).write_bytes(data)
    page.set_input_files("#file-input", str(tmp_path / name))
    refused = page.locator('.thumb[data-state="refused"]')
    expect(refused).to_have_count(1)
    assert refused.locator(".reason").inner_text() == server.json()["reason"]
    assert refused.locator(".message").inner_text() == server.json()["message"]
    expect(page.locator("#submit")).to_be_disabled()
    if name == "too-small.png":
        desktop.shot("refused-picture")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_api_docs_work_offline(browser: Any, console_server: ConsoleServer, viewport: str) -> None:
    with open_console(browser, console_server.base_url, viewport) as console:
        console.open("/docs")
        page = console.page
        expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=20000)
        paths = page.locator(".opblock-summary-path").evaluate_all("els => els.map(e => e.dataset.path)")
        assert "/ent/v2/reference2video" in paths and "/ent/v2/tasks" in paths
        console.shot("11-api-docs", full_page=False)
        assert console.external_requests() == []
        assert console.errors == []
        assert console.unexpected_failures(set()) == []


@pytest.mark.parametrize("kind", ["reference2image", "reference2video"])
def test_api_docs_try_it_out_creates_a_task(browser: Any, console_server: ConsoleServer, kind: str) -> None:
    with open_console(browser, console_server.base_url, "desktop") as console:
        console.open("/docs")
        page = console.page
        page.locator(".btn.authorize").click()
        page.locator(".auth-container input").fill(f"Token {console_server.token}")
        page.locator(".auth-container .btn.modal-btn.auth.authorize").click()
        page.locator(".auth-container .btn-done").click()
        operation = page.locator(f"#operations-default-{kind}")
        operation.locator(".opblock-summary").click()
        operation.locator(".try-out__btn").click()
        operation.locator(".execute").click()
        live = operation.locator(".live-responses-table tbody")
        status = live.locator(".response-col_status").first
        expect(status).to_have_text("200", timeout=20000)
        body = live.locator(".response-col_description pre").first.inner_text()
        assert '"task_id"' in body and '"state": "created"' in body
        console.shot(f"12-api-docs-try-{kind}", full_page=False)
        assert console.external_requests() == []
        assert console.errors == []
