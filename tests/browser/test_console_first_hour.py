"""The console items of a new user's first hour: keyboard focus and tabs, Generate within reach with a
long list (1440×900 and 390×844), sign-out and drafts, the new task in view, task cards with every
setting, reuse and copy as curl / Python (run for real), small covers, the compositor named, and
``@id`` hints for subjects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Console, ConsoleServer, open_console
from tests.browser.test_console_accessibility import create, wait_for_state
from tests.images import data_url, picture

pytestmark = pytest.mark.slow

REF = data_url(picture(320, 240, colour=(30, 140, 90)))


def client(server: ConsoleServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Token {token}"}, timeout=30)


def long_list(server: ConsoleServer, token: str, count: int = 14) -> None:
    with client(server, token) as api:
        ids = [
            create(api, "reference2image", {"model": "viduq1", "images": [REF], "prompt": f"cat {i}"})
            for i in range(count)
        ]
        for task_id in ids:
            wait_for_state(api, task_id, "success")


def sign_in(console: Console, token: str) -> None:
    console.page.fill("#api-key", token)
    console.page.click("#signin-button")
    expect(console.page.locator("#workspace")).to_be_visible()


def focused(page: Page) -> list[Any]:
    return list(
        page.evaluate(
            "[document.activeElement.tagName, document.activeElement.name ?? '', "
            "document.activeElement.value ?? '', document.activeElement.dataset.kind ?? '']"
        )
    )


def tall_form(page: Page, tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        path = tmp_path / f"t{i}.png"
        path.write_bytes(picture(400, 300, colour=(60 * i, 100, 160)))
        paths.append(str(path))
    page.set_input_files("#file-input", paths)
    expect(page.locator('.thumb[data-state="ok"]')).to_have_count(3)
    page.check('input[name="model"][value="vidu2.0"]')
    page.fill("#prompt", "three friends wave")
    page.check('input[name="watermark"]')
    page.locator("details.advanced summary").click()


def submit_reachable(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => { const b = document.getElementById('submit'); const r = b.getBoundingClientRect();
                 if (r.top < 0 || r.bottom > innerHeight) return false;
                 return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === b; }"""
        )
    )


def test_console_keyboard_keeps_focus_and_tabs_follow_arrows(desktop: Console) -> None:
    page = desktop.page
    page.focus('input[name="model"]:checked')
    before = focused(page)[2]
    page.keyboard.press("ArrowRight")
    after = focused(page)
    assert after[:2] == ["INPUT", "model"] and after[2] != before
    page.focus('input[name="bgm"]')
    page.keyboard.press("Space")
    assert focused(page)[:2] == ["INPUT", "bgm"] and page.locator('input[name="bgm"]').is_checked()

    page.focus('[data-kind="reference2video"]')
    page.keyboard.press("ArrowRight")
    assert focused(page)[3] == "text2video"
    expect(page.locator('[data-kind="text2video"]')).to_have_attribute("aria-selected", "true")
    expect(page.locator('[data-kind="text2video"]')).to_have_attribute("tabindex", "0")
    expect(page.locator('[data-kind="reference2video"]')).to_have_attribute("tabindex", "-1")
    expect(page.locator("#create-form")).to_have_attribute("aria-labelledby", "tab-text2video")
    page.keyboard.press("End")
    assert focused(page)[3] == "reference2image"
    page.keyboard.press("ArrowRight")
    assert focused(page)[3] == "reference2video"
    page.keyboard.press("ArrowLeft")
    assert focused(page)[3] == "reference2image"


def test_console_creates_a_task_with_the_keyboard_only(browser: Any, console_server: ConsoleServer) -> None:
    token = console_server.new_token("keyboard")
    with open_console(browser, console_server.base_url, "desktop") as console:
        page = console.page
        console.open()
        expect(page.locator("#api-key")).to_be_focused()  # the key field has the focus on arrival
        page.keyboard.type(token)
        page.keyboard.press("Enter")
        expect(page.locator("#workspace")).to_be_visible()
        assert focused(page)[3] == "reference2video"  # focus is on the form, not <body>
        page.keyboard.press("ArrowRight")  # Text → Video
        for _ in range(60):
            if page.evaluate("document.activeElement.id") == "prompt":
                break
            page.keyboard.press("Tab")
        page.keyboard.type("a lighthouse in a storm")
        for _ in range(80):
            if page.evaluate("document.activeElement.id") == "submit":
                break
            page.keyboard.press("Tab")
        with page.expect_response(lambda r: r.url.endswith("/ent/v2/text2video")) as info:
            page.keyboard.press("Enter")
        assert info.value.status == 200
        expect(page.locator(f'li.task[data-task-id="{info.value.json()["task_id"]}"]')).to_be_visible()
        assert console.errors == []


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_console_generate_stays_reachable_with_a_long_list(
    browser: Any, console_server: ConsoleServer, tmp_path: Path, width: int, height: int
) -> None:
    token = console_server.new_token(f"long-{width}")
    long_list(console_server, token)
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(console_server.base_url)
        page.fill("#api-key", token)
        page.click("#signin-button")
        expect(page.locator("li.task")).to_have_count(14)
        tall_form(page, tmp_path)
        if width > 1020:  # side by side: Generate is in the window wherever the page is scrolled
            for y in (0, 600, 100000):
                page.evaluate(f"window.scrollTo(0, {y})")
                assert submit_reachable(page), f"Generate out of reach at scroll {y}"
        else:  # stacked: Generate sticks to the bottom of the window while the form is on screen
            page.locator("#prompt").scroll_into_view_if_needed()
            assert submit_reachable(page)
        page.keyboard.press("Escape")
        page.focus("#submit")
        assert submit_reachable(page)
        with page.expect_response(lambda r: r.url.endswith("/ent/v2/reference2video")) as info:
            page.click("#submit")
        assert info.value.status == 200
        card = page.locator(f'li.task[data-task-id="{info.value.json()["task_id"]}"]')
        expect(card).to_be_visible()
        if width > 1020:  # the new task is scrolled into view on a desktop
            expect(card).to_be_in_viewport()
        path = Path(__file__).resolve().parents[2] / "test-artifacts" / "console" / f"long-list-{width}.png"
        page.screenshot(path=str(path))
    finally:
        context.close()


def test_console_sign_out_empties_the_form_and_drafts_survive_a_reload(
    browser: Any, console_server: ConsoleServer
) -> None:
    first = console_server.new_token("draft-one")
    second = console_server.new_token("draft-two")
    with open_console(browser, console_server.base_url, "desktop") as console:
        page = console.page
        console.open()
        sign_in(console, first)
        page.click('[data-kind="text2video"]')
        page.check('input[name="model"][value="viduq2"]')
        page.check('input[name="style"][value="anime"]')
        page.fill("#prompt", "a fox in the snow")
        page.locator("details.advanced summary").click()
        page.fill('input[name="seed"]', "1234")
        page.reload()
        expect(page.locator("#workspace")).to_be_visible()
        expect(page.locator('[data-kind="text2video"]')).to_have_attribute("aria-selected", "true")
        expect(page.locator("#prompt")).to_have_value("a fox in the snow")
        assert page.locator('input[name="style"][value="anime"]').is_checked()
        assert page.locator('input[name="model"][value="viduq2"]').is_checked()
        expect(page.locator('input[name="seed"]')).to_have_value("1234")
        assert first not in str(page.evaluate("JSON.stringify(localStorage)"))

        page.click("#sign-out")
        assert page.evaluate("localStorage.length") == 0  # the key's draft is gone with it
        sign_in(console, second)
        expect(page.locator("#prompt")).to_have_value("")
        expect(page.locator('input[name="seed"]')).to_have_value("")
        expect(page.locator('[data-kind="reference2video"]')).to_have_attribute("aria-selected", "true")
        assert console.errors == []


def test_console_clears_the_stale_note_and_fits_the_placeholder(desktop: Console) -> None:
    page = desktop.page
    page.click('[data-kind="reference2image"]')
    assert "camera" not in (page.get_attribute("#prompt", "placeholder") or "")
    page.click('[data-kind="text2video"]')
    assert "camera" in (page.get_attribute("#prompt", "placeholder") or "")
    page.check('input[name="model"][value="viduq1"]')
    page.fill("#prompt", "waves")
    page.click("#submit")
    expect(page.locator(".created-note")).to_be_visible()
    page.fill("#prompt", "waves at night")
    expect(page.locator(".created-note")).to_have_count(0)


def test_console_cards_show_every_setting_and_can_be_repeated(
    browser: Any, console_server: ConsoleServer, tmp_path: Path
) -> None:
    token = console_server.new_token("cards")
    with client(console_server, token) as api:
        video = create(
            api,
            "reference2video",
            {
                "model": "vidu1.5",
                "images": [REF],
                "prompt": "a wave",
                "movement_amplitude": "large",
                "bgm": True,
                "seed": 4242,
            },
        )
        image = create(
            api,
            "reference2image",
            {"model": "viduq1", "images": [REF], "prompt": "a cat", "aspect_ratio": "auto"},
        )
        wait_for_state(api, video, "success")
        wait_for_state(api, image, "success")
    with open_console(browser, console_server.base_url, "desktop") as console:
        page = console.page
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        console.open()
        sign_in(console, token)
        card = page.locator(f'li.task[data-task-id="{video}"]')
        expect(card.locator(".task-options")).to_have_text("movement large · music on · seed 4242")
        expect(card.locator(".task-refs img")).to_have_count(1)
        expect(card.locator(".backend-note")).to_contain_text("not by a neural model")
        image_card = page.locator(f'li.task[data-task-id="{image}"]')
        expect(image_card).to_have_attribute("data-ratio", "4:3")  # the picture's ratio, not "auto"
        expect(image_card.locator(".task-kind")).to_contain_text("4:3")
        # the thumbnail is a small cover, far lighter than the image itself
        thumb = image_card.locator(".task-media img")
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=thumb.element_handle())
        assert thumb.evaluate("i => Math.max(i.naturalWidth, i.naturalHeight)") <= 320
        small = page.request.get(thumb.get_attribute("src") or "")
        full = page.request.get(image_card.locator(".image-link").get_attribute("href") or "")
        assert small.headers["content-type"] == "image/jpeg" and len(small.body()) * 4 < len(full.body())

        card.locator('[data-action="reuse"]').click()
        expect(page.locator('[data-kind="reference2video"]')).to_have_attribute("aria-selected", "true")
        assert page.locator('input[name="model"][value="vidu1.5"]').is_checked()
        assert page.locator('input[name="movement_amplitude"][value="large"]').is_checked()
        assert page.locator('input[name="bgm"]').is_checked()
        expect(page.locator("#prompt")).to_have_value("a wave")
        expect(page.locator('input[name="seed"]')).to_have_value("4242")

        env = {**os.environ, "REFGEN_API_KEY": token}
        for language, label in (("curl", "curl command"), ("python", "Python script")):
            card.locator(f'[data-action="{language}"]').click()
            # wait for this copy's own note: the previous one says "Copied" too
            expect(card.locator(".copied")).to_contain_text(f"Copied the {label}")
            snippet = page.evaluate("navigator.clipboard.readText()")
            assert token not in snippet
            command = ["bash", "-c", snippet] if language == "curl" else [sys.executable, "-c", snippet]
            out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)
            created = json.loads(out.stdout)
            assert (created["model"], created["seed"], created["bgm"]) == ("vidu1.5", 4242, True), out.stdout
            assert created["movement_amplitude"] == "large"
        assert console.errors == []


def test_console_names_the_compositor_and_hints_subject_ids(desktop: Console, tmp_path: Path) -> None:
    page = desktop.page
    expect(page.locator("#model-control .backend-note")).to_contain_text("not a neural model")
    for i in range(2):
        path = tmp_path / f"s{i}.png"
        path.write_bytes(picture(300, 300, colour=(90 * i, 60, 200)))
        page.set_input_files("#file-input", [str(path)])
    page.check('input[name="model"][value="viduq2"]')
    page.check('input[name="subjects"]')
    page.fill('input[name="subject-0"]', "cat")
    expect(page.locator("#subject-hints button")).to_have_text(["@cat", "@2"])
    page.click('#subject-hints button:has-text("@cat")')
    page.keyboard.type("meets ")
    page.click('#subject-hints button:has-text("@2")')
    expect(page.locator("#prompt")).to_have_value("@cat meets @2 ")
