"""One real browser: Debian's chromium, driven by Playwright, against `streamlit run app.py`."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .browser_report import remember_log, watch

CHROMIUM = Path("/usr/bin/chromium")
# Every wait for the page allows a minute: on a loaded two-core machine one redraw has taken tens of
# seconds. A wait still ends as soon as what it waits for is there.
WAIT = 60_000
PROMPT = "A paper boat drifting down a rainy street, golden hour"
ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (apt-get install chromium); CI installs it",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(tmp_path_factory: pytest.TempPathFactory, **env: str):
    """``streamlit run app.py`` on a free port with a fresh data folder: (url, data folder, process)."""
    port = free_port()
    data = tmp_path_factory.mktemp("browser-data")
    env = {**os.environ, "SORA_DATA_DIR": str(data), "SANDBOX_TASK_SECONDS": "2", **env}
    env.pop("GRSAI_API_KEY", None)
    log_path = tmp_path_factory.mktemp("logs") / "streamlit.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    remember_log(url, log_path)  # a failing test's report ends with this log's last lines
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "streamlit did not start"
        time.sleep(0.3)
    return url, data, process


def settle(page) -> None:
    """Wait for the script run the last action asked for to end. A text box hands its value over when
    the cursor leaves it, and that starts a run: a click made during it can land on a button while the
    button is being drawn again, and be lost. (The state flips when the action is sent.)"""
    page.wait_for_function(
        """() => { const app = document.querySelector("[data-testid='stApp']");
                   return app && !['running', 'rerunRequested'].includes(app.dataset.testScriptState); }""",
        timeout=WAIT,
    )


def open_browser(playwright, url: str, width: int = 1400):
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    page = browser.new_page(viewport={"width": width, "height": 900})
    watch(page)
    page.goto(url)
    return browser, page


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    # tiny renders (4 fps, a quarter of the size): these tests are about the pages, and full-size
    # renders made this app take 57 s of CPU for one video at the start of a loaded run;
    # test_browser_models plays a full-size one
    url, data, process = start_app(tmp_path_factory, SANDBOX_RENDER_PROFILE="light")
    yield url, data
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def app_url(app):
    return app[0]


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = open_browser(playwright, app_url)
        yield page
        browser.close()


def test_a_typed_prompt_becomes_a_playing_video(page, app_url, tmp_path_factory) -> None:
    page.wait_for_selector("textarea", timeout=WAIT)
    icon = page.locator("link[rel*='icon']").first.get_attribute("href") or ""
    assert icon.startswith(app_url), icon  # served by the app itself: it shows offline
    page.get_by_role("textbox", name="Prompt").fill(PROMPT)
    page.keyboard.press("Tab")
    settle(page)
    page.get_by_role("button", name="Generate").click()
    page.get_by_test_id("stMainBlockContainer").get_by_text("1 video is being made").wait_for(timeout=WAIT)
    # the new card is where the person is looking: on the screen they pressed the button on
    card = page.locator("[class*='st-key-card_']").first.bounding_box()
    assert card is not None and card["y"] < 900, card
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 2 }", timeout=60_000
    )
    played = page.evaluate(
        """() => { const v = document.querySelector('video'); v.muted = true;
                   return v.play().then(() => new Promise(r => setTimeout(
                       () => r({time: v.currentTime, width: v.videoWidth, height: v.videoHeight, duration: v.duration}),
                       1000))) }"""
    )
    assert played["time"] > 0.3, played  # it really plays
    assert abs(played["width"] / played["height"] - 16 / 9) < 0.02, played  # the ratio asked for
    assert round(played["duration"]) == 10
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "generate.png"), full_page=True)


def test_the_list_survives_a_reload(page) -> None:
    page.reload()  # a new session: the list comes from the store, not from the session
    card = page.locator("[class*='st-key-card_']").filter(has_text=PROMPT)
    card.locator("video").wait_for(timeout=WAIT)
    from playwright.sync_api import expect

    expect(card).to_contain_text("s_", timeout=WAIT)  # the video's pid, under it
    assert page.locator("[class*='st-key-card_']").count() == 1


def test_the_new_video_is_found_in_the_library(page, tmp_path_factory) -> None:
    page.get_by_role("link", name="Library").click()
    page.get_by_role("heading", name="Library").wait_for(timeout=WAIT)
    page.get_by_text(PROMPT).first.wait_for(timeout=WAIT)
    page.wait_for_function(
        "() => [...document.querySelectorAll('img')].some(i => i.complete && i.naturalWidth >= 160)",
        timeout=WAIT,
    )
    page.locator("[class*='st-key-open_'] button").first.click()
    page.get_by_role("dialog").wait_for(timeout=WAIT)
    page.wait_for_function(
        "() => { const v = document.querySelector('[role=dialog] video'); return v && v.readyState >= 2 }",
        timeout=WAIT,
    )
    from playwright.sync_api import expect

    expect(page.get_by_role("dialog")).to_contain_text("s_", timeout=WAIT)  # its pid, drawn after the player
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "library.png"), full_page=True)


def test_cameo_a_clip_becomes_a_character_used_in_a_video(page, tmp_path_factory) -> None:
    from .conftest import make_clip

    clip = tmp_path_factory.mktemp("clips") / "mascot.mp4"
    clip.write_bytes(make_clip(4.0, (240, 120, 20), size=(160, 160)))
    page.keyboard.press("Escape")  # close the Library's dialog from the test before
    page.get_by_role("dialog").wait_for(state="hidden", timeout=WAIT)
    page.get_by_role("link", name="Characters").click()
    page.get_by_text("No real people").wait_for(timeout=WAIT)
    page.locator("input[type=file]").first.set_input_files(str(clip))
    page.get_by_text("The character is taken from").wait_for(timeout=WAIT)
    page.get_by_placeholder("e.g. Mascot in a red hat").fill("Orange mascot")
    page.keyboard.press("Tab")
    settle(page)
    page.locator("[class*='st-key-characters_create_clip'] button").click()
    mention = page.locator("[class*='st-key-character_'] code").first
    try:
        mention.wait_for(timeout=WAIT)
    except Exception:
        page.screenshot(path="/tmp/shots/cameo_fail.png", full_page=True)
        raise
    character = mention.inner_text().strip()
    assert character.startswith("@")
    page.locator("[class*='st-key-characters_use_'] button").first.click()
    prompt = page.get_by_role("textbox", name="Prompt")
    prompt.wait_for(timeout=WAIT)
    assert character in prompt.input_value()
    prompt.fill(prompt.input_value() + "waves from a sunny beach")
    page.keyboard.press("Tab")
    settle(page)
    page.get_by_role("button", name="Generate").click()
    card = page.locator("[class*='st-key-card_']").filter(has_text="waves from a sunny beach")
    card.locator("video").wait_for(timeout=60_000)
    page.wait_for_function(
        """() => [...document.querySelectorAll("[class*='st-key-card_'] video")].some(v => v.readyState >= 2)""",
        timeout=WAIT,
    )
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "cameo.png"), full_page=True)


def test_remix_plays_the_original_and_the_remix_side_by_side(page, tmp_path_factory) -> None:
    page.get_by_role("link", name="Remix").click()
    page.get_by_role("heading", name="Remix").wait_for(timeout=WAIT)
    page.locator("[class*='st-key-remix_pick_'] button").first.click()
    page.get_by_role("textbox", name="New prompt").fill("The same scene at night under fireworks")
    page.keyboard.press("Tab")
    settle(page)
    page.get_by_role("button", name="Remix ·").click()
    try:  # the remix is under way (or made) ...
        page.get_by_text(re.compile(r"Remixing · \d+%|^Side by side$")).first.wait_for(timeout=WAIT)
    except Exception:  # ... or, on a loaded machine, the click landed while the page was being drawn
        page.get_by_role("button", name="Remix ·").click()  # again: the same request is sent once
    page.get_by_role("heading", name="Side by side").wait_for(timeout=90_000)
    page.get_by_role("heading", name="Side by side").scroll_into_view_if_needed()
    page.mouse.wheel(0, 400)  # Chrome holds back muted autoplay of videos that are off screen
    playing = page.wait_for_function(
        """() => { const videos = [...document.querySelectorAll('video')].slice(-2);
                   return videos.length === 2 && videos.every(v => v.readyState >= 2 && v.currentTime > 0.2)
                          && videos.map(v => v.currentTime) }""",
        timeout=WAIT,
    ).json_value()
    assert len(playing) == 2  # both autoplay, muted, side by side
    pair = "[...document.querySelectorAll('.st-key-remix_side_by_side video')]"
    page.evaluate(f"() => {pair}[1].pause()")  # pausing the remix pauses the original too
    page.wait_for_function(f"() => {pair}.every(v => v.paused)", timeout=WAIT)
    # a small move is followed too: one under the quarter second of drift allowed while playing was
    # not, so a paused pair could stay apart (seen in CI: paused at 1.3 s, moved to 1.5 s)
    page.evaluate(f"() => {{ const [a] = {pair}; a.currentTime = a.currentTime + 0.2; }}")
    page.wait_for_function(f"() => {{ const [a, b] = {pair}; return Math.abs(a.currentTime - b.currentTime) < 0.05; }}",
                           timeout=WAIT)  # fmt: skip
    # moving the original moves the remix, also when it moves again just as the remix ends following its
    # last move: that end was passed back, and moved the original back (seen in CI). The second move is
    # made as the remix's 'seeked' reaches the page, before the page's own handlers hear it.
    page.evaluate(f"""() => {{ const [a, b] = {pair};
                              const again = (e) => {{ if (e.target !== b) return;
                                                      document.removeEventListener('seeked', again, true);
                                                      a.currentTime = 1.5; }};
                              document.addEventListener('seeked', again, true);
                              a.currentTime = 4; }}""")
    page.wait_for_function(f"() => {pair}.every(v => !v.seeking && Math.abs(v.currentTime - 1.5) < 0.1)", timeout=WAIT)
    page.evaluate(f"() => {pair}[0].play()")  # and playing one plays both, together
    page.wait_for_function(  # (a loaded machine may stutter: they must come together, not start together)
        f"() => {{ const [a, b] = {pair}; return !a.paused && !b.paused && a.currentTime > 2"
        " && Math.abs(a.currentTime - b.currentTime) < 0.3; }",
        timeout=WAIT,
    )
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "remix.png"), full_page=True)


def test_batch_pasted_rows_become_videos_and_a_zip(page, tmp_path_factory) -> None:
    import io
    import zipfile

    rows = "product,colour\nTrail sneaker,red\nWater bottle,blue\nCoffee mug,\n"
    page.get_by_role("link", name="Batch").click()
    page.get_by_role("heading", name="Batch").wait_for(timeout=WAIT)
    page.get_by_text("Paste rows").click()
    page.get_by_role("textbox", name="Rows, with a header row").fill(rows)
    page.keyboard.press("Tab")
    settle(page)
    page.get_by_role("textbox", name="Prompt template").fill("A {colour} {product} turning on a studio table")
    page.keyboard.press("Tab")
    settle(page)
    page.get_by_text("1 row will be skipped and not sent").wait_for(timeout=WAIT)
    page.get_by_role("button", name="Start · 2 videos · 3,200 credits").click()
    page.get_by_text("Finished · 2 of 2 done").wait_for(timeout=90_000)
    with page.expect_download(timeout=WAIT) as download:
        page.get_by_role("button", name="Download zip (2 videos").click()
    archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
    names = archive.namelist()
    assert "manifest.csv" in names and len([n for n in names if n.endswith(".mp4")]) == 2
    assert "A red Trail sneaker" in archive.read("manifest.csv").decode()
    assert sorted(n for n in names if n.endswith(".mp4")) == [
        "videos/row-0001-trail-sneaker.mp4",  # named by the table's product, not the prompt
        "videos/row-0002-water-bottle.mp4",
    ]
    grid = page.locator(
        "[class*='st-key-batch_results_'] [data-testid='stDataFrame']"
    )  # pick a row to play it
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 20, box["y"] + 35 + 18)
    row = page.locator(".st-key-batch_result_row")
    row.get_by_text("Row 1 · Trail sneaker · red").wait_for(timeout=WAIT)
    played = page.wait_for_function(
        """() => { const v = document.querySelector('.st-key-batch_result_row video');
                   return v && v.readyState >= 1 && v.duration; }""",
        timeout=WAIT,
    ).json_value()
    assert played > 1  # a real video, ready to play in the results
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "batch.png"), full_page=True)


def test_a_prompt_is_shown_as_typed_never_as_links_or_formulas(page) -> None:
    """Markdown in a prompt ([a link](…), $x^2$) stays words on Generate's list and Library tiles."""
    page.get_by_role("link", name="Generate").click()
    page.locator(".st-key-generate_prompt textarea").fill("Links stay words [map](http://evil.example) and $x^2$")
    page.keyboard.press("Tab")
    settle(page)
    page.get_by_role("button", name="Generate").click()
    card = page.locator("[class*='st-key-card_']").filter(has_text="Links stay words")
    card.wait_for(timeout=WAIT)
    for where in ("Generate", "Library"):
        main = page.get_by_test_id("stMainBlockContainer")
        if where == "Library":
            page.get_by_role("link", name="Library").click()
            page.get_by_role("heading", name="Library").wait_for(timeout=WAIT)
            main.get_by_text("Links stay words").first.wait_for(timeout=WAIT)
        assert main.locator("a[href*='evil.example']").count() == 0, where
        assert main.locator(".katex").count() == 0, where
        assert "$x^2$" in main.inner_text(), where


def test_a_focused_primary_button_keeps_the_themes_colour(page) -> None:
    """Streamlit turned the focused or hovered primary button saturated blue (#3300FF), off the
    theme's violet; it keeps the theme's hue now, a shade darker."""
    import colorsys

    page.get_by_role("link", name="Generate").click()
    button = page.locator("button[kind='primary']").first
    button.wait_for(timeout=WAIT)
    button.focus()
    colour = page.wait_for_function(  # the colour changes through a CSS transition: wait for its end
        """() => { const b = document.querySelector("button[kind='primary']");
                   const now = getComputedStyle(b).backgroundColor;
                   if (window.__lastColour === now && now !== 'rgb(109, 74, 255)') return now;
                   window.__lastColour = now; return false; }""",
        polling=150,
        timeout=WAIT,
    ).json_value()
    red, green, blue = (
        int(part) / 255 for part in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3]
    )
    theme_hue = colorsys.rgb_to_hsv(0x6D / 255, 0x4A / 255, 0xFF / 255)[0]
    hue, saturation, _ = colorsys.rgb_to_hsv(red, green, blue)
    assert abs(hue - theme_hue) < 0.01 and saturation < 0.8, colour


def test_a_three_shot_storyboard_is_made_joined_and_played(page, app, tmp_path_factory) -> None:
    """Issue 12: three shots, made one after another, joined into one film that plays; its length
    is the sum of its shots' (± 0.5 s), checked by decoding the files."""
    from studio.db import Store, Storyboard, default_url
    from studio.storyboard import clip_seconds

    page.get_by_role("link", name="Storyboard").click()
    page.get_by_role("heading", name="Storyboard").wait_for(timeout=WAIT)
    page.get_by_role("button", name="Add a shot").click()
    prompts = page.get_by_role("textbox", name="Prompt")
    prompts.nth(2).wait_for(timeout=WAIT)
    for number, words in enumerate(["a lighthouse at dawn", "its lamp turns on", "ships pass at night"]):
        prompts.nth(number).fill(words)
        page.keyboard.press("Tab")
        settle(page)
    page.get_by_text("3 shots · about").wait_for(timeout=WAIT)
    page.get_by_role("button", name="Make all").click()
    film = page.locator("[class*='st-key-storyboard_made_'] video").first
    film.wait_for(timeout=120_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('[class*=st-key-storyboard_made_] video'); return v && v.readyState >= 2 }",
        timeout=WAIT,
    )
    played = page.evaluate(
        """() => { const v = document.querySelector('[class*=st-key-storyboard_made_] video'); v.muted = true;
                   return v.play().then(() => new Promise(r => setTimeout(
                       () => r({time: v.currentTime, duration: v.duration}), 1000))) }"""
    )
    assert played["time"] > 0.3, played  # it really plays
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "storyboard.png"), full_page=True)

    url, data = app
    store = Store(default_url(data))
    try:
        with store.session() as session:
            (board,) = session.query(Storyboard).all()
        shots = store.shots_of(board.id)
        media = data / "media"
        parts = [clip_seconds(media / shots[n].video_path) for n in range(3)]
        joined = clip_seconds(media / store.get(board.film_id).video_path)
    finally:
        store.dispose()
    assert abs(joined - sum(parts)) <= 0.5, (joined, parts)
    assert abs(played["duration"] - joined) <= 0.5, (played, joined)



@pytest.mark.parametrize(("width", "stays_open"), [(390, False), (1400, True)], ids=["phone", "desktop"])
def test_choosing_a_page_on_a_phone_closes_the_sidebar_over_it(page, app_url, width, stays_open) -> None:
    """On a phone the sidebar opened to choose a page stayed open over that page and took its taps;
    now it closes once the page is chosen. A wide screen keeps its sidebar beside the page."""
    narrow = width < 768
    context = page.context.browser.new_context(viewport={"width": width, "height": 844}, is_mobile=narrow, has_touch=narrow)
    phone = context.new_page()
    try:
        phone.goto(app_url)
        phone.locator("textarea").first.wait_for(timeout=WAIT)
        sidebar = phone.locator("[data-testid=stSidebar]")
        if narrow:
            phone.locator("[data-testid=stExpandSidebarButton]").click()
        images = phone.locator("[data-testid=stSidebarNavLink]", has_text="Images")
        images.wait_for(state="visible")
        images.click()
        phone.get_by_role("heading", name="Images").wait_for(timeout=WAIT)
        if stays_open:
            assert sidebar.bounding_box()["x"] >= 0 and phone.locator("[data-testid=stSidebarNav]").is_visible()
        else:  # slid away: the page's own fields take the taps again
            phone.wait_for_function(
                "() => document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().right <= 0",
                timeout=WAIT,
            )
            phone.locator("button", has_text="GPT image").first.click()  # a tap on the page reaches it
            phone.get_by_text("GPT image version").wait_for(timeout=WAIT)
    finally:
        context.close()


def test_the_generate_button_is_on_the_first_screen_for_every_video_model(page, app_url) -> None:
    """At 1400×900 Generate's button started at y≈1053, below the first screen, under every
    setting; now it sits right under the prompt, whichever model is chosen."""
    context = page.context.browser.new_context(viewport={"width": 1400, "height": 900})
    fresh = context.new_page()
    try:
        fresh.goto(app_url)
        fresh.locator("textarea").first.wait_for(timeout=WAIT)
        for model in ("Sora 2", "Veo 3.1", "MiniMax"):
            fresh.locator("button", has_text=model).first.click()
            fresh.locator("button[aria-checked='true']", has_text=model).first.wait_for(timeout=WAIT)  # taken
            fresh.get_by_text("costs", exact=False).first.wait_for(timeout=WAIT)
            box = fresh.wait_for_function(  # the button as drawn once the page has settled on this model:
                # nothing left over from the last model's run (marked stale until the run ends)
                r"""() => { if (document.querySelector('[data-stale="true"]')) return null;
                           const b = [...document.querySelectorAll('button')].find(x => /(^|\s)Generate$/.test(x.innerText.trim()));
                           const r = b && b.getBoundingClientRect();
                           return r && r.height ? {bottom: r.bottom, scrolled: window.scrollY} : null; }""",
                timeout=WAIT,
            ).json_value()
            assert box["scrolled"] == 0 and box["bottom"] <= 900, (model, box)
        fresh.goto(f"{app_url}/storyboard")  # Make all heads the plan too (it was at y≈1336)
        fresh.get_by_text("Shot 1").first.wait_for(timeout=WAIT)
        make_all = fresh.get_by_role("button", name="Make all").bounding_box()
        assert make_all is not None and make_all["y"] + make_all["height"] <= 900, make_all
    finally:
        context.close()


def test_on_a_phone_the_newest_video_shows_right_under_the_button(page, app_url, tmp_path_factory) -> None:
    """Issue 20 (7): at 390 px the list came after the whole form (the card at y≈1390 of an 844 px
    screen): the newest one's progress, then its frame, now shows under Generate and is brought into
    view once it is sent. A wide screen, whose list sits beside the form, does not repeat it."""
    context = page.context.browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = context.new_page()
    shots = tmp_path_factory.mktemp("phone")
    try:
        phone.goto(app_url)
        help_row = phone.locator("[class*='st-key-generate_help_row'] button").filter(visible=True)
        help_row.filter(has_text="3 ideas").wait_for(timeout=WAIT)
        # prompt help: one row ("3 ideas" wrapped alone), once the page is drawn (a loaded browser measured
        # at one moment caught the row before the page's fonts and styles had come: 608 and 664 px)
        tops = phone.wait_for_function(
            """() => { const tops = [...document.querySelectorAll("[class*='st-key-generate_help_row'] button")]
                         .filter(b => b.offsetParent).map(b => Math.round(b.getBoundingClientRect().top));
                       return tops.length >= 4 && new Set(tops).size === 1 && tops; }""",
            timeout=WAIT,
        ).json_value()
        assert len(tops) >= 4
        phone.get_by_role("textbox", name="Prompt").fill("A kite over a windy beach, seen from the phone")
        phone.keyboard.press("Tab")
        settle(phone)
        go = phone.get_by_role("button", name="Generate", exact=True)
        go.click()
        latest = phone.locator("[class*='st-key-generate_latest']")
        latest.get_by_text("A kite over a windy beach").wait_for(timeout=WAIT)
        phone.wait_for_function(  # brought into view: on the screen the person is looking at
            """() => { const r = document.querySelector("[class*='st-key-generate_latest']").getBoundingClientRect();
                       return r.top >= 0 && r.top + 60 <= window.innerHeight }""",
            timeout=WAIT,
        )
        # right under the button, once the page has settled: a redraw can hold an element of the last
        # run between them for a moment (59 to 88 px, seen on loaded machines); the defect was 1,000 px
        phone.wait_for_function(
            """() => { if (document.querySelector('[data-stale="true"]')) return null;
                       const strip = document.querySelector("[class*='st-key-generate_latest']");
                       const go = [...document.querySelectorAll('button')].find(b => /(^|\\s)Generate$/.test(b.innerText.trim()));
                       if (!strip || !go) return null;
                       const gap = strip.getBoundingClientRect().top - go.getBoundingClientRect().bottom;
                       return gap >= 0 && gap < 40; }""",
            timeout=WAIT,
        )
        strip = latest.bounding_box()
        phone.screenshot(path=str(shots / "making.png"))
        latest.locator("img").wait_for(timeout=60_000)  # made: its frame
        phone.screenshot(path=str(shots / "made.png"))
        card = phone.locator("[class*='st-key-card_']", has_text="A kite over a windy beach")
        assert card.bounding_box()["y"] > strip["y"] + 300  # the list itself is still below the settings
    finally:
        context.close()
    assert not page.locator("[class*='st-key-generate_latest']").first.is_visible()  # 1400 px: beside it already


def test_takes_play_on_a_click_and_loop_with_no_controls_over_them(page) -> None:
    """Issue 20 (4): native controls covered the small previews of N made at once. A take now
    plays on a click (or under the pointer) and loops; a second click pauses it."""
    page.get_by_role("link", name="Generate").click()
    # Generate's own prompt box: the storyboard's three "Prompt" boxes may still be drawn for a moment
    page.locator(".st-key-generate_prompt textarea").fill("Two takes of a spinning top")
    page.keyboard.press("Tab")
    settle(page)
    page.locator("[data-testid=stButtonGroup] button").filter(has_text=re.compile(r"^2$")).first.click()  # How many
    page.get_by_role("button", name="Generate 2").click()
    previews = page.locator("[class*='st-key-preview_'] video")
    page.wait_for_function(
        """() => [...document.querySelectorAll("[class*='st-key-preview_'] video")]
                 .filter(v => v.readyState >= 2 && v.dataset.preview === '1').length >= 2""",
        timeout=90_000,
    )
    first = previews.first
    assert first.evaluate("v => [v.controls, v.loop, v.paused]") == [False, True, True]
    first.click()
    page.wait_for_function(
        "() => { const v = document.querySelector(\"[class*='st-key-preview_'] video\"); return !v.paused && v.currentTime > 0.2 }",
        timeout=WAIT,
    )
    first.click()
    assert first.evaluate("v => v.paused")
