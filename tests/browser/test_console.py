"""A new user's first visit, in Chromium, on a desktop and a phone: sign in, upload three pictures,
submit, watch the progress bar move and the video play, cancel a second task, make an image, and
see a refused upload and a refused task explained. Screenshots of every step are saved."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Console, ConsoleServer, open_console
from tests.images import picture

pytestmark = pytest.mark.slow

COLOURS = [(220, 60, 40), (40, 120, 220), (40, 170, 90)]


def pictures(folder: Path) -> list[Path]:
    paths = []
    for i, colour in enumerate(COLOURS):
        path = folder / f"subject-{i + 1}.png"
        path.write_bytes(picture(512, 384 + 64 * i, colour=colour))
        paths.append(path)
    return paths


def sign_in(console: Console, token: str) -> None:
    page = console.page
    page.fill("#api-key", token)
    page.click("#signin-button")
    expect(page.locator("#workspace")).to_be_visible()


def card(page: Page, task_id: str) -> Any:
    return page.locator(f'li.task[data-task-id="{task_id}"]')


def submit(page: Page, kind: str) -> dict[str, Any]:
    with page.expect_response(
        lambda r: r.url.endswith(f"/ent/v2/{kind}") and r.request.method == "POST"
    ) as info:
        page.click("#submit")
    created: dict[str, Any] = info.value.json()
    return created


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_console_walkthrough(
    browser: Any, console_server: ConsoleServer, viewport: str, tmp_path: Path
) -> None:
    token = console_server.new_token(f"new-user-{viewport}")  # a new user: no tasks yet
    poor = console_server.new_token(f"poor-{viewport}", credits=0)
    with open_console(browser, console_server.base_url, viewport) as console:
        page = console.page
        console.open()

        # 1. sign in: a wrong key is explained, the right one opens the workspace
        expect(page.locator("#signin")).to_be_visible()
        console.shot("01-sign-in")
        page.fill("#api-key", "not-a-key")
        page.click("#signin-button")
        refusal = page.locator("#signin-problem .error-box")
        expect(refusal.locator(".reason")).to_have_text("Unauthorized")
        expect(refusal.locator(".trace-id")).to_have_text(_hex32())
        console.shot("02-sign-in-refused")
        sign_in(console, token)
        assert page.evaluate("sessionStorage.getItem('refgen.apiKey')") == token
        assert token not in str(page.evaluate("JSON.stringify(localStorage)"))  # drafts only, by hash
        expect(page.locator("#tasks-empty")).to_be_visible()
        console.shot("03-signed-in")

        # 2. three pictures, checked in the browser, then reordered
        paths = pictures(tmp_path)
        page.set_input_files("#file-input", [str(p) for p in paths])
        expect(page.locator('.thumb[data-state="ok"]')).to_have_count(3)
        page.click('button[aria-label="Move picture 3 earlier"]')
        names = page.locator(".thumb").evaluate_all("els => els.map(e => e.dataset.name)")
        assert names == ["subject-1.png", "subject-3.png", "subject-2.png"]
        expect(page.locator(".thumb-info").nth(1)).to_contain_text("PNG · 512×512")
        page.check('input[name="model"][value="vidu2.0"]')
        page.fill("#prompt", "three friends wave at the camera by a lake at sunset")
        expect(page.locator("#prompt-count")).to_have_text("52 / 1500")
        page.check('input[name="watermark"]')
        expect(page.locator("#price")).to_have_text("2")
        expect(page.locator("#submit")).to_be_enabled()
        console.shot("04-ready-to-submit")

        # 3. submit: the price shown is what the server charges
        created = submit(page, "reference2video")
        assert created["credits"] == int(page.locator("#price").inner_text()) == 2
        assert (created["model"], created["resolution"], created["duration"]) == ("vidu2.0", "360p", 4)
        assert created["watermark"] is True
        task = card(page, created["task_id"])
        expect(task).to_be_visible()
        expect(page.locator(".created-note")).to_contain_text(created["task_id"])

        # 4. the progress bar moves, live
        bar = task.locator('[role="progressbar"]')
        seen: list[int] = []
        shot_taken = False
        deadline = time.monotonic() + 90
        while task.get_attribute("data-state") != "success":
            assert task.get_attribute("data-state") != "failed", task.inner_text()
            assert time.monotonic() < deadline, f"task stuck; progress seen {seen}"
            value = int(bar.get_attribute("aria-valuenow") or 0)
            if not seen or seen[-1] != value:
                seen.append(value)
            if 0 < value < 100 and not shot_taken:
                console.shot("05-progress")
                shot_taken = True
            time.sleep(0.1)
        assert any(0 < v < 100 for v in seen), f"the bar never showed progress between 0 and 100: {seen}"
        assert seen == sorted(seen), f"the bar went backwards: {seen}"

        # 5. the video loads, with its cover as poster, and plays
        video = task.locator("video")
        expect(video).to_be_visible()
        with console_client(console_server, token) as client:
            body = client.get(f"/ent/v2/tasks/{created['task_id']}/creations").json()
        creation = body["creations"][0]
        poster = video.get_attribute("poster") or ""
        # the small cover, opened with the cover file's own signed link
        assert poster.split("?")[0] == creation["cover_url"].split("?")[0].replace("/files/", "/covers/", 1)
        assert page.request.get(poster).headers["content-type"] == "image/jpeg"
        page.wait_for_function(
            "v => v.readyState >= 2 && v.videoWidth > 0", arg=video.element_handle(), timeout=30000
        )
        assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [640, 360]
        video.scroll_into_view_if_needed()
        video.click()
        if video.evaluate("v => v.paused"):
            video.evaluate("v => v.play()")
        page.wait_for_function(
            "v => v.currentTime > 0.8 && !v.paused", arg=video.element_handle(), timeout=15000
        )
        console.shot("06-video-playing")
        for which, suffix in (("file", ".mp4"), ("watermarked", "-watermarked.mp4")):
            with page.expect_download() as download_info:
                task.locator(f'a[data-download="{which}"]').click()
            download = download_info.value
            assert download.suggested_filename == f"refgen-{created['task_id']}{suffix}"
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            assert saved.read_bytes()[4:8] == b"ftyp"

        # 6. a second task, cancelled before it finishes
        second = submit(page, "reference2video")
        second_card = card(page, second["task_id"])
        cancel = second_card.get_by_role("button", name="Cancel")
        cancel.click()
        expect(second_card).to_have_attribute("data-state", "failed", timeout=20000)
        expect(second_card.locator(".badge")).to_have_text("Cancelled")
        expect(second_card.locator(".task-credits")).to_have_text("0 credits")
        expect(second_card.locator(".err-code code")).to_have_text("UserCancelled")
        assert video.evaluate("v => v.isConnected"), "the playing video was re-created by a refresh"
        console.shot("07-second-task-cancelled")

        # 7. an image from the same pictures
        page.click('[data-kind="reference2image"]')
        page.check('input[name="model"][value="viduq1"]')
        page.check('input[name="aspect_ratio"][value="auto"]')
        expect(page.locator("#price")).to_have_text("1")
        image_task = submit(page, "reference2image")
        assert image_task["credits"] == 1 and image_task["aspect_ratio"] == "auto"
        image_card = card(page, image_task["task_id"])
        expect(image_card).to_have_attribute("data-state", "success", timeout=60000)
        image = image_card.locator(".task-media img")
        page.wait_for_function(
            "i => i.complete && i.naturalWidth > 0", arg=image.element_handle(), timeout=15000
        )
        console.shot("08-image-done")

        # 8. a refused upload is explained with the server's reason and message
        tiny = tmp_path / "tiny.png"
        tiny.write_bytes(picture(64, 64))
        page.set_input_files("#file-input", [str(tiny)])
        refused = page.locator('.thumb[data-state="refused"]')
        expect(refused).to_have_count(1)
        expect(refused.locator(".reason")).to_have_text("PageSizeOutOfRange")
        expect(refused.locator(".message")).to_have_text(
            "image is 64x64, each side must be at least 128 px: images[3]"
        )
        expect(page.locator("#submit")).to_be_disabled()
        refused.scroll_into_view_if_needed()
        console.shot("09-refused-upload")
        refused.get_by_role("button", name="Remove picture 4").click()
        expect(page.locator("#submit")).to_be_enabled()

        # 9. signing out empties the form; a key that cannot pay is told so, with numbers, before sending
        page.click("#sign-out")
        expect(page.locator("#signin")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('refgen.apiKey')") is None
        sign_in(console, poor)
        expect(page.locator(".thumb")).to_have_count(0)
        expect(page.locator("#prompt")).to_have_value("")
        page.set_input_files("#file-input", [str(p) for p in paths])
        page.fill("#prompt", "three friends wave")
        expect(page.locator("#balance")).to_have_text("Balance: 0 credits")
        price = page.locator("#price").inner_text()
        expect(page.locator("#blockers")).to_contain_text(
            f"CreditInsufficient this task costs {price} credits; this key has 0 left"
        )
        expect(page.locator("#submit")).to_be_disabled()
        page.locator("#blockers").scroll_into_view_if_needed()
        console.shot("10-cannot-afford")

        assert console.external_requests() == []
        assert console.errors == []
        allowed = {(401, "/ent/v2/tasks")}
        assert console.unexpected_failures(allowed) == []


def _hex32() -> Any:
    import re

    return re.compile(r"^[0-9a-f]{32}$")


def console_client(server: ConsoleServer, token: str) -> Any:
    import httpx

    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Token {token}"}, timeout=30)
