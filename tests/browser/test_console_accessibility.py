"""Every screen of the console against axe-core (WCAG 2 A/AA): the sign-in page (empty and after a
refused key), each kind tab, pictures (one refused), subjects, the watermark and advanced fields, and a
task list with a finished video, a finished image, a cancelled task and one still running; on a desktop
and a phone. No serious or critical finding is allowed anywhere."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.accessibility import blocking
from tests.browser.conftest import ConsoleServer, open_console
from tests.images import data_url, picture

pytestmark = pytest.mark.slow


def create(client: httpx.Client, kind: str, body: dict[str, Any]) -> str:
    response = client.post(f"/ent/v2/{kind}", json=body)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def wait_for_state(client: httpx.Client, task_id: str, *states: str) -> None:
    deadline = time.monotonic() + 90
    while (state := client.get(f"/ent/v2/tasks/{task_id}/creations").json()["state"]) not in states:
        assert time.monotonic() < deadline, f"task {task_id} stuck in {state}"
        time.sleep(0.05)


def tasks_of_every_state(server: ConsoleServer, token: str) -> None:
    """A finished video and image, a cancelled task, and (last, so it is still running) a long video."""
    refs = [data_url(picture(320, 240, colour=(200, 80, 40)))]
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Token {token}"}, timeout=30
    ) as client:
        video = create(client, "reference2video", {"model": "vidu2.0", "images": refs, "prompt": "a wave"})
        image = create(client, "reference2image", {"model": "viduq1", "images": refs, "prompt": "a cat"})
        wait_for_state(client, video, "success")
        wait_for_state(client, image, "success")
        cancelled = create(client, "reference2video", {"model": "vidu2.0", "images": refs, "prompt": "x"})
        assert client.post(f"/ent/v2/tasks/{cancelled}/cancel", json={}).status_code == 200
        wait_for_state(client, cancelled, "failed")
        create(client, "text2video", {"model": "viduq2", "prompt": "a long walk", "duration": 10})


def clean(page: Page, screen: str) -> None:
    found = blocking(page)
    assert found == [], f"{screen}: {found}"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_console_every_screen_has_no_serious_accessibility_finding(
    browser: Any, console_server: ConsoleServer, viewport: str, tmp_path: Path
) -> None:
    token = console_server.new_token(f"axe-{viewport}")
    tasks_of_every_state(console_server, token)
    with open_console(browser, console_server.base_url, viewport) as console:
        page = console.page
        console.open()
        expect(page.locator("#signin")).to_be_visible()
        clean(page, "sign-in")
        page.fill("#api-key", "not-a-key")
        page.click("#signin-button")
        expect(page.locator("#signin-problem .error-box")).to_be_visible()
        clean(page, "sign-in refused")

        page.fill("#api-key", token)
        page.click("#signin-button")
        expect(page.locator("#workspace")).to_be_visible()
        expect(page.locator('li.task[data-state="success"]')).to_have_count(2)
        expect(page.locator('li.task[data-state="failed"]')).to_have_count(1)
        expect(page.locator("li.task video")).to_have_count(1)
        clean(page, "task list")

        for kind in ("text2video", "img2video", "start-end2video", "reference2image", "reference2video"):
            page.click(f'[data-kind="{kind}"]')
            clean(page, f"{kind} tab")

        good = tmp_path / "good.png"
        good.write_bytes(picture(512, 384))
        tiny = tmp_path / "tiny.png"
        tiny.write_bytes(picture(64, 64))
        page.set_input_files("#file-input", [str(good), str(tiny)])
        expect(page.locator('.thumb[data-state="refused"]')).to_have_count(1)
        clean(page, "pictures, one refused")

        page.check('input[name="model"][value="viduq2"]')
        page.check('input[name="subjects"]')
        page.check('input[name="watermark"]')
        page.locator("details.advanced summary").click()
        clean(page, "subjects, watermark, advanced")

        page.click("#sign-out")
        expect(page.locator("#signin")).to_be_visible()
        clean(page, "signed out")
        assert console.external_requests() == []
        assert console.errors == []
