"""The console's kind tabs for the rest of the video family: each shows the fields its endpoint
takes (from the catalogue), sends the body the contract describes, and names what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Console
from tests.browser.test_console_contract import enabled, offered, price, selected
from tests.images import picture

pytestmark = pytest.mark.slow


def control(page: Page, name: str) -> int:
    return page.locator(f'[data-control="{name}"]:visible').count()


def add_pictures(page: Page, tmp_path: Path, *sizes: tuple[int, int]) -> None:
    paths = []
    for i, (w, h) in enumerate(sizes):
        path = tmp_path / f"p{i}.png"
        path.write_bytes(picture(w, h, colour=(40 * i, 120, 200)))
        paths.append(str(path))
    page.set_input_files("#file-input", paths)
    expect(page.locator('.thumb[data-state="ok"]')).to_have_count(len(sizes))


def blockers(page: Page) -> str:
    return page.locator("#blockers").inner_text()


def test_console_tabs_show_each_endpoints_fields(desktop: Console, tmp_path: Path) -> None:
    page = desktop.page
    tabs = page.locator("#kind-switch [data-kind]").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert tabs == ["reference2video", "text2video", "img2video", "start-end2video", "reference2image"]

    page.click('[data-kind="text2video"]')
    assert [v for v, _, _ in offered(page, "model")] == [
        "viduq3-pro",
        "viduq3-turbo",
        "viduq2",
        "viduq1",
        "vidu1.5",
    ]
    expect(page.locator('[data-control="images"]')).to_be_hidden()
    assert enabled(page, "style") == ["general", "anime"] and selected(page, "style") == "general"
    assert enabled(page, "aspect_ratio") == ["16:9", "9:16", "1:1", "4:3", "3:4"]
    assert enabled(page, "duration") == [str(d) for d in range(1, 17)]
    # q3 speaks by default and its rate includes speech: 3 per second at 720p
    assert page.locator('input[name="audio"]').is_checked() and price(page) == 15
    page.check('input[name="model"][value="viduq1"]')
    assert control(page, "audio") == 0 and control(page, "is_rec") == 0 and price(page) == 8
    desktop.shot("family-text2video")

    page.click('[data-kind="img2video"]')
    expect(page.locator('[data-control="images"]')).to_be_visible()
    expect(page.locator("#images-label")).to_contain_text("0 of 1")
    assert control(page, "aspect_ratio") == 0 and control(page, "style") == 0
    assert control(page, "is_rec") == 1 and control(page, "audio") == 1
    page.check('input[name="model"][value="viduq2-turbo"]')
    page.check('input[name="audio"]')
    assert price(page) == 7  # the spec's example: 5 s 720p with speech
    page.check('input[name="is_rec"]')
    assert price(page) == 8

    page.click('[data-kind="start-end2video"]')
    expect(page.locator("#images-label")).to_contain_text("0 of 2")
    add_pictures(page, tmp_path, (640, 360), (640, 360))
    expect(page.locator(".thumb-index")).to_have_text(["Start", "End"])
    page.check('input[name="model"][value="viduq2-pro"]')
    assert control(page, "audio") == 0  # start-end speaks on q3 models only
    desktop.shot("family-start-end")


def test_console_text2video_sends_the_right_body(desktop: Console) -> None:
    page = desktop.page
    page.click('[data-kind="text2video"]')
    page.check('input[name="model"][value="viduq2"]')
    page.check('input[name="style"][value="anime"]')
    page.check('input[name="duration"][value="4"]')
    page.check('input[name="resolution"][value="1080p"]')
    page.check('input[name="aspect_ratio"][value="1:1"]')
    page.fill("#prompt", "a lighthouse in a storm")
    expect(page.locator("#submit")).to_be_enabled()
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/ent/v2/text2video")) as sent:
        page.click("#submit")
    body = sent.value.post_data_json
    assert body == {
        "model": "viduq2",
        "prompt": "a lighthouse in a storm",
        "resolution": "1080p",
        "aspect_ratio": "1:1",
        "style": "anime",
        "duration": 4,
        "movement_amplitude": "auto",
        "bgm": False,
        "off_peak": False,
        "watermark": False,
    }
    expect(page.locator(".created-note")).to_contain_text("8 credits")


def test_console_keeps_focus_on_an_option_it_rebuilds(desktop: Console) -> None:
    page = desktop.page
    page.click('[data-kind="text2video"]')
    page.focus('input[name="style"][value="general"]')
    page.keyboard.press("ArrowRight")
    assert selected(page, "style") == "anime"
    focused = page.evaluate("[document.activeElement.name, document.activeElement.value]")
    assert focused == ["style", "anime"]


def test_console_names_whats_wrong_with_the_new_fields(desktop: Console, tmp_path: Path) -> None:
    page = desktop.page
    page.click('[data-kind="img2video"]')
    expect(page.locator("#blockers")).to_contain_text("field is missing or empty: images")
    add_pictures(page, tmp_path, (320, 240), (320, 240))
    expect(page.locator("#blockers")).to_contain_text(
        "FieldItemCountOutOfRange field item count out of range: images"
    )
    assert "prompt" not in blockers(page)  # img2video's prompt is optional
    page.check('input[name="model"][value="viduq2-turbo"]')
    page.check('input[name="audio"]')
    page.check('input[name="off_peak"]')
    expect(page.locator("#blockers")).to_contain_text("invalid field: off_peak")
    expect(page.locator("#submit")).to_be_disabled()

    page.click('[data-kind="reference2video"]')
    page.check('input[name="model"][value="viduq2"]')
    page.check('input[name="subjects"]')
    expect(page.locator("#images-label")).to_contain_text("Subject pictures")
    page.fill('input[name="subject-0"]', "the cat")
    page.fill("#prompt", "@1 meets @2")
    expect(page.locator("#blockers")).to_contain_text("FieldInvalid invalid field: subjects[0].id")
    page.fill('input[name="subject-0"]', "cat")
    expect(page.locator("#blockers")).not_to_contain_text("subjects[0].id")
    expect(page.locator("#submit")).to_be_enabled()
    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/ent/v2/reference2video")
    ) as sent:
        page.click("#submit")
    body = sent.value.post_data_json
    assert [s["id"] for s in body["subjects"]] == ["cat", "2"] and "images" not in body
    assert body["audio"] is False
