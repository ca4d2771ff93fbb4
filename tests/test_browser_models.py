"""Every model in a real browser (Debian's chromium via Playwright, `streamlit run app.py`): Sora 2
taken down in the sandbox → Generate offers Veo → a Veo video plays; an image made on Images →
"Animate this" → a video that starts on that image."""

from __future__ import annotations

import httpx
import pytest

from sandbox.control import control_headers

from .test_browser import CHROMIUM, WAIT, open_browser, pytestmark, start_app  # noqa: F401 - the same marks

SHOTS = "/tmp/shots"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory):
    url, data, process = start_app(tmp_path_factory)
    yield url, data
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def page(studio):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = open_browser(playwright, studio[0])
        page.get_by_role("textbox", name="Prompt").wait_for(timeout=WAIT)
        yield page
        browser.close()


def sandbox_url(data) -> str:
    port = (data / "sandbox" / "port").read_text().strip()
    return f"http://127.0.0.1:{port}"


def test_sora_2_down_offers_veo_and_a_veo_video_plays(page, studio, tmp_path_factory) -> None:
    httpx.patch(
        f"{sandbox_url(studio[1])}/sandbox/config",
        headers=control_headers(sandbox_url(studio[1]), studio[1] / "sandbox"),
        json={"models": {"sora-2": {"available": False, "message": "retired by OpenAI"}}},
    ).raise_for_status()
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Check again").click()  # statuses are cached for 15 s otherwise
    page.get_by_text("retired by OpenAI").first.wait_for(state="attached", timeout=WAIT)
    page.get_by_role("link", name="Generate").click()
    page.get_by_role("textbox", name="Prompt").wait_for(timeout=WAIT)
    page.get_by_text("Sora 2 is down right now: retired by OpenAI").wait_for(timeout=WAIT)
    assert page.get_by_role("button", name="Generate").is_disabled()  # nothing can be sent to it
    page.get_by_role("textbox", name="Prompt").fill("A lighthouse at dusk, waves below")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Use Veo 3.1 Fast · 720p instead").click()
    page.get_by_text("8 s unless you choose").first.wait_for(timeout=WAIT)  # Veo's duration, 8 s as it was
    assert page.get_by_role("textbox", name="Prompt").input_value() == "A lighthouse at dusk, waves below"
    page.get_by_role("button", name="Generate").click()
    card = page.locator("[class*='st-key-card_']").filter(has_text="A lighthouse at dusk")
    card.locator("video").wait_for(timeout=240_000)  # a full-size render: 81 s on a loaded CI machine
    played = page.evaluate(
        """() => { const v = document.querySelector("[class*='st-key-card_'] video"); v.muted = true;
                   return v.play().then(() => new Promise(r => setTimeout(
                       () => r({time: v.currentTime, width: v.videoWidth, duration: v.duration}), 1000))) }"""
    )
    assert played["time"] > 0.3 and played["width"] == 1280 and round(played["duration"]) == 8, played
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "veo.png"), full_page=True)


def test_an_image_animated_becomes_a_video_that_starts_on_it(page, studio) -> None:
    import av
    from PIL import Image

    from studio.db import LibraryFilter, Store, default_url

    page.get_by_role("link", name="Images").click()
    page.get_by_role("heading", name="Images").wait_for(timeout=WAIT)
    page.get_by_role("textbox", name="Prompt").fill("A yellow rubber duck on a blue pool")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Make images").click()
    page.get_by_role("button", name="Animate this").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Animate this").first.click()
    page.get_by_text("Carried over from Images").wait_for(timeout=WAIT)
    page.get_by_role("textbox", name="Prompt").fill("The duck bobs on the water")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Generate").click()
    card = page.locator("[class*='st-key-card_']").filter(has_text="The duck bobs")
    card.locator("video").wait_for(timeout=240_000)  # a full-size render: 81 s on a loaded CI machine
    store = Store(default_url(studio[1]))
    try:
        rows = store.search(LibraryFilter(text="duck"), limit=10)[0]
    finally:
        store.dispose()
    video = next(r for r in rows if r.makes == "video")
    image = next(r for r in rows if r.makes == "image")
    assert video.model == "veo3.1-fast" and video.options["first_frame_url"].startswith("file:")
    media = studio[1] / "media"
    with av.open(str(media / video.video_path)) as container:
        first = next(container.decode(video=0)).to_image().convert("RGB")
    picture = Image.open(media / image.files[0]["path"]).convert("RGB")
    fitted = picture.resize((first.width, first.width))  # a square image, fitted by its middle
    top = (fitted.height - first.height) // 2
    for x, y in ((first.width // 4, first.height // 2), (first.width // 2, first.height // 3)):
        a, b = first.getpixel((x, y)), fitted.getpixel((x, y + top))
        assert all(abs(p - q) <= 48 for p, q in zip(a, b, strict=True)), (a, b)
