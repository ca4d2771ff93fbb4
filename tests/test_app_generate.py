"""Generate, through AppTest: a request is queued, the engine makes it, the list shows it to done;
bad input is explained next to its field and nothing is sent; the list is the store's, so it
survives a reload; a second click on the same request is the same request."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image
from streamlit.testing.v1.element_tree import Block

from sandbox.control import control_headers
from studio.db import Generation, LibraryFilter, Status, Store, default_url

from .apptest_helpers import (
    beside,
    block_of,
    click,
    creates,
    errors,
    generate,
    new_app,
    run_until,
    service_url,
    sidebar_text,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
    widget,
)


@pytest.fixture
def app(tmp_path, monkeypatch):
    return new_app(monkeypatch, tmp_path / "data")


def stored(tmp_path) -> list:
    return Store(default_url(tmp_path / "data")).search(LibraryFilter(), limit=100)[0]


def cards(at) -> list[Block]:
    """Generate's list: one bordered card a generation."""
    return [node for node in at.main if isinstance(node, Block) and (node.key or "").startswith("card_")]


def card_prompts(at) -> list[str]:
    return [next(m.value for m in card.markdown if m.value.startswith("**")).strip("*") for card in cards(at)]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_with_no_key_the_app_runs_on_the_sandbox_and_says_so(app) -> None:
    assert app.session_state["connection"].is_sandbox
    assert "Sandbox" in sidebar_text(app) and "built-in sandbox" in sidebar_text(app)
    assert app.sidebar.metric[0].value == "2,000,000"
    assert "This video costs **1,600 credits (¥0.08)**" in texts(app)
    assert "Your videos will appear here" in texts(app)


def test_a_prompt_becomes_a_stored_video_that_plays_inline(app, tmp_path) -> None:
    generate(app, "A bottle of sparkling lemonade on a sunny café table")
    assert app.get("progress"), "progress should show while the video is made"
    assert "1 video is being made" in texts(app)
    run_until(app, lambda at: at.get("video"))
    assert any("ready" in t.value for t in app.toast)
    [row] = stored(tmp_path)
    assert row.status == "succeeded" and row.pid.startswith("s_") and row.pid in texts(app)
    assert (
        tmp_path / "data" / "media" / row.video_path
    ).stat().st_size > 10_000  # a copy, not the provider's link
    assert (tmp_path / "data" / "media" / row.thumb_path).exists()
    assert row.cost == 1600 and creates(app) == 1
    assert "1,600 credits (¥0.08)" in texts(app)
    assert app.sidebar.metric[0].value == "1,998,400"


BAD_INPUT = [
    pytest.param("   ", {}, "generate_prompt", "Write a prompt first", id="empty prompt"),
    pytest.param(
        "a fine prompt",
        {"generate_remix_pid": "s_not-a-pid"},
        "generate_remix_pid",
        "s_ followed by 32 characters",
        id="bad pid",
    ),
    pytest.param(
        "a fine prompt",
        {"generate_image_url": "not a link"},
        "generate_image_url",
        "must be a web address starting with https://",
        id="not a link",
    ),
    pytest.param(
        "a fine prompt",
        {"generate_image_url": "file:///etc/passwd"},
        "generate_image_url",
        "must be a web address starting with https://",
        id="file url",
    ),
    pytest.param(
        "a fine prompt",
        {"generate_image_url": "../x.png"},
        "generate_image_url",
        "must be a web address starting with https://",
        id="local path",
    ),
]


@pytest.mark.parametrize(("prompt", "widgets", "field", "message"), BAD_INPUT)
def test_bad_input_is_explained_next_to_its_field_and_nothing_is_sent(
    app, tmp_path, prompt, widgets, field, message
) -> None:
    generate(app, prompt, **widgets)
    assert message in beside(app, field)
    assert not app.get("progress") and not cards(app)
    assert stored(tmp_path) == [] and creates(app) == 0
    # Put right, the same form sends exactly one request: the refused one was never queued.
    for key in widgets:
        widget(app, key).set_value("")
    generate(app, "a fine prompt")
    assert not errors(app)
    run_until(app, lambda at: at.get("video"))
    assert creates(app) == 1 and len(stored(tmp_path)) == 1


def test_a_text_file_named_png_is_refused_as_the_reference_image(app, tmp_path) -> None:
    widget(app, "generate_image_file").set_value(
        ("photo.png", b"just some text, not a picture\n", "image/png")
    )
    app.run()
    section = block_of(app, "generate_image_file")  # the "Reference image" section
    assert "not an image that can be read" in "\n".join(e.value for e in section.error)
    generate(app, "a red ball bouncing")
    section = block_of(app, "generate_image_file")
    assert "must be a web address (https://...) or an image file" in "\n".join(e.value for e in section.error)
    assert stored(tmp_path) == [] and creates(app) == 0
    widget(app, "generate_image_file").set_value(("photo.png", png(), "image/png"))  # a real picture
    app.run()
    click(app, "Generate")
    run_until(app, lambda at: at.get("video"))
    [row] = stored(tmp_path)
    assert row.kind == "image" and row.image_ref.startswith("file:") and creates(app) == 1


def test_a_refused_prompt_is_explained_charged_and_can_be_put_back(app, tmp_path) -> None:
    """The real service keeps a refusal's credits: the words, the store and the balance agree."""
    generate(app, "a scene full of gore")
    run_until(app, lambda at: at.error)
    message = app.error[0].value
    assert "content moderation" in message and "Rephrase" in message
    assert "1,600 credits (¥0.08) charged: the service does not refund refusals." in message
    assert "Nothing was charged" not in message
    assert stored(tmp_path)[0].cost == 1_600
    assert app.sidebar.metric[0].value == "1,998,400"
    widget(app, "generate_prompt").set_value("something else")
    click(app, "Use this prompt again")
    assert widget(app, "generate_prompt").value == "a scene full of gore"


def test_where_the_service_refunds_refusals_a_refusal_costs_nothing(tmp_path, monkeypatch) -> None:
    at = new_app(monkeypatch, tmp_path / "data", GRSAI_REFUNDS_REFUSALS="true")
    generate(at, "a scene full of gore")
    run_until(at, lambda at: at.error)
    assert "Nothing was charged" in at.error[0].value and "does not refund" not in at.error[0].value
    assert stored(tmp_path)[0].cost == 0 and at.sidebar.metric[0].value == "2,000,000"
    at.switch_page("app_pages/settings.py")
    at.run()
    assert "The service refunds refusals (GRSAI_REFUNDS_REFUSALS is on)" in texts(at)


def test_several_videos_at_once_are_counted_not_spinners(monkeypatch, tmp_path) -> None:
    # videos that take 5 s: on a loaded machine the first must not be made before the third is asked for
    app = new_app(monkeypatch, tmp_path / "data", SANDBOX_TASK_SECONDS="5")
    for prompt in ("a red kite", "a blue kite", "a green kite"):
        generate(app, prompt)
    assert "3 videos are being made" in texts(app)
    run_until(app, lambda at: len(at.get("video")) == 3)
    assert creates(app) == 3


def test_the_same_request_twice_is_one_request_until_another_is_asked_for(app, tmp_path) -> None:
    generate(app, "a lighthouse")
    generate(app, "a lighthouse")  # a double click
    assert "This exact request was already sent" in "\n".join(i.value for i in app.info)
    assert len(stored(tmp_path)) == 1
    run_until(app, lambda at: at.get("video"))
    generate(app, "a lighthouse")  # long after: still the same request, not a time window
    assert "This exact request was already sent" in "\n".join(i.value for i in app.info)
    assert creates(app) == 1 and len(stored(tmp_path)) == 1 and len(cards(app)) == 1
    click(app, "Make another")
    click(app, "Generate")
    run_until(app, lambda at: len(at.get("video")) == 2)
    assert creates(app) == 2 and len(stored(tmp_path)) == 2
    assert card_prompts(app) == ["a lighthouse", "a lighthouse"]


def test_the_list_is_the_store_s_latest_six_and_survives_a_reload(tmp_path, monkeypatch) -> None:
    # No engine in this process (SORA_ENGINE=external): requests stay queued, so they can be cancelled.
    data = tmp_path / "data"
    at = new_app(monkeypatch, data, SORA_ENGINE="external")
    for number in range(1, 8):
        generate(at, f"a paper lantern number {number}")
    assert card_prompts(at) == [f"a paper lantern number {n}" for n in range(7, 1, -1)]
    assert "6 videos are being made" in texts(at.main) and "7 videos are being made" in sidebar_text(at)
    assert "Waiting for the key of account" in texts(at)
    # the newest two stay open by the button; the older four fold away (the column grew without end)
    assert [e.label for e in at.main.expander if e.label.endswith("earlier")] == ["4 earlier"]
    reloaded = new_app(monkeypatch, data, SORA_ENGINE="external")  # a new tab, or the same after a reload
    assert card_prompts(reloaded) == card_prompts(at)
    newest = cards(reloaded)[0]
    next(b for b in newest.button if b.label == "Cancel").click()
    reloaded.run()
    assert not reloaded.exception, reloaded.exception
    assert "Cancelled" in texts(cards(reloaded)[0])
    statuses = {g.prompt: g.status for g in stored(tmp_path)}
    assert statuses["a paper lantern number 7"] == Status.CANCELLED
    assert sum(s == Status.QUEUED for s in statuses.values()) == 6
    assert "Cancel" not in [b.label for b in cards(reloaded)[0].button]
    assert creates(reloaded) == 0


def test_hide_takes_a_video_off_the_list_while_it_goes_on_being_made(tmp_path, monkeypatch) -> None:
    at = new_app(monkeypatch, tmp_path / "data", SANDBOX_TASK_SECONDS="4")
    generate(at, "a snail crossing a leaf")
    [card] = cards(at)
    next(b for b in card.button if b.label == "Hide").click()
    at.run()
    assert not cards(at) and "Your videos will appear here" in texts(at)
    assert "1 video is being made" in sidebar_text(at)  # still followed
    store = Store(default_url(tmp_path / "data"))
    [row] = stored(tmp_path)
    run_until(at, lambda _: store.get(row.id).status == Status.SUCCEEDED)
    assert not cards(at) and creates(at) == 1
    at.switch_page("app_pages/library.py")
    at.run()
    assert "a snail crossing a leaf" in texts(at)


def test_an_unknown_send_is_sent_again_only_when_confirmed(app, tmp_path) -> None:
    # The service makes the video but its answer is lost: the send's outcome is unknown.
    httpx.post(
        f"{service_url(app)}/sandbox/faults",
        headers=control_headers(service_url(app)),
        json={"status": 500, "after": True, "path": "/v1/video/sora-video"},
    ).raise_for_status()
    generate(app, "a teacup in a storm")
    run_until(app, lambda at: "could not tell whether the service received" in texts(at))
    [unknown] = stored(tmp_path)
    assert unknown.status == Status.UNKNOWN and unknown.cost == 1600 and creates(app) == 1
    click(app, "Send again…")
    assert "makes a second video and is charged a second time" in texts(app)
    assert creates(app) == 1  # asking is not sending
    click(app, "Send it again")
    run_until(app, lambda at: at.get("video"))
    again = next(g for g in stored(tmp_path) if g.id != unknown.id)
    assert again.resend_of == unknown.id and again.status == Status.SUCCEEDED and creates(app) == 2


def test_remix_this_fills_the_remix_target_and_makes_a_remix(app, tmp_path) -> None:
    generate(app, "a harbour at sunrise")
    run_until(app, lambda at: at.get("video"))
    original = stored(tmp_path)[0]
    click(app, "Remix this")
    assert widget(app, "generate_remix_pid").value == original.pid
    widget(app, "generate_prompt").set_value("the same harbour in a snowstorm")
    click(app, "Generate")
    run_until(app, lambda at: len(at.get("video")) == 2)
    remix = next(g for g in stored(tmp_path) if g.id != original.id)
    assert remix.kind == "remix" and remix.remix_target_id == original.pid and remix.status == "succeeded"


def test_recent_prompts_can_be_picked_again(app) -> None:
    generate(app, "a teapot pouring itself")
    widget(app, "generate_prompt").set_value("")
    app.run()
    click(app, "a teapot pouring itself")
    assert widget(app, "generate_prompt").value == "a teapot pouring itself"


def test_words_that_got_prompts_refused_before_are_pointed_out_but_never_block(app, tmp_path) -> None:
    """Issue 12, moderation help: after "a graphite statue covered in gore" is refused, a new prompt
    with "graphite" says so under the prompt, and known themes are named with a suggestion; the
    prompt is still sent when the person chooses to."""
    generate(app, "a graphite statue covered in gore")
    run_until(app, lambda at: at.error)
    generate(app, "a sunny statue garden")  # accepted words are not blamed
    run_until(app, lambda at: len(at.get("video")) == 1)
    widget(app, "generate_prompt").set_value("a graphite owl next to Mickey Mouse in a sunny garden")
    app.run()
    hints = [c.value for c in app.caption if ":material/shield:" in c.value]
    assert any("“graphite” was in 1 of your prompts the service refused before" in h for h in hints), hints
    assert any("Mickey Mouse" in h and "original" in h for h in hints), hints
    assert not any("statue" in h or "sunny" in h or "garden" in h for h in hints), hints
    before = creates(app)
    click(app, "Generate")  # a hint explains; it never blocks
    run_until(app, lambda at: creates(at) == before + 1)


def test_asking_for_retries_of_a_refused_video_is_kept_with_the_request(app, tmp_path) -> None:
    section = block_of(app, "generate_output_retries")
    said = "\n".join(c.value for c in section.caption)
    assert "Each new try is a new video at 1,600 credits (¥0.08)" in said
    assert "a refused try stays charged: the service does not refund refusals" in said
    generate(app, "a kite that may be refused", generate_output_retries=2)
    said = "\n".join(c.value for c in block_of(app, "generate_output_retries").caption)
    assert "At most 2 more: up to 3,200 credits (¥0.16)." in said
    [row] = [g for g in stored(tmp_path) if g.prompt == "a kite that may be refused"]
    assert row.output_retries == 2 and row.retry_of is None


def test_an_empty_prompt_says_what_to_write_and_an_example_is_one_click_away(app) -> None:
    """Issue 20 (9): a grey example prompt looked filled in. The empty field now says what to write,
    and "Use an example" puts one in it for real; with a prompt written, the offer goes."""
    field = app.text_area(key="generate_prompt")
    assert field.placeholder.startswith("Say what is seen") and field.value in ("", None)
    click(app, "Use an example")
    example = app.text_area(key="generate_prompt").value
    assert len(example) > 30 and example != field.placeholder
    assert not any(b.label == "Use an example" for b in app.button)
    assert next(b for b in app.button if b.label == "Generate").disabled is False


def test_the_credits_under_the_button_and_in_the_sidebar_are_one_reading(app) -> None:
    """In the run of a click, the line under the button said "· 2,000,000 left" while the sidebar,
    drawn after the click had cleared the cached balance, already said 1,998,400: one run, two
    figures. Both now show the one reading of the run; the next run reads the balance again."""
    import re

    def figures(at) -> tuple[str, str]:
        line = next(m.value for m in at.markdown if "left" in m.value and "costs" in m.value)
        under_button = re.search(r"\*\*([\d,]+)\*\* left", line).group(1)
        return under_button, next(m.value for m in at.sidebar.metric if m.label == "Credits left")

    at = app
    at.text_area(key="generate_prompt").set_value("a paper boat").run()
    before = figures(at)
    assert before[0] == before[1]
    with at.session_state["connection"].client() as client:  # the balance falls meanwhile (another tab)
        client.create_video(prompt="spent elsewhere", model="sora-2")
    click(at, "Generate")
    assert figures(at)[0] == figures(at)[1]
    run_until(at, lambda page: figures(page)[1] != before[1])  # a later run reads the new balance
    assert figures(at)[0] == figures(at)[1]


def test_a_video_downloaded_while_another_is_made_is_the_file_itself_not_one_made_on_the_click(
    tmp_path, monkeypatch
) -> None:
    """While a video is being made, the list is redrawn every second. A download made on the click
    was dropped by the next redraw (a click as the page redrew got nothing) or swept two redraws after
    it was made (a slow browser got nothing: the batch test shows it in a real browser). There the
    button now carries the file, with the same address on every redraw. So does the Library's detail:
    the sidebar redraws itself every 3 s while something is made, and a file made on the click was
    swept 3 to 6 s later (one file, the one the detail already plays)."""
    data = tmp_path / "data"
    at = new_app(monkeypatch, data, SORA_ENGINE="external")  # nothing makes the queued one: it stays at work
    at.run()
    connection = at.session_state["connection"]
    store = Store(default_url(data))
    video = b"\x00\x00\x00\x18ftypmp42 a made video"
    (data / "media" / "videos").mkdir(parents=True, exist_ok=True)
    (data / "media" / "videos" / "made.mp4").write_bytes(video)
    try:
        made, _ = store.add_generation(
            {"prompt": "A red kite over the sea"}, service=connection.service_id, account=connection.account
        )
        assert store.finish(
            Generation, made.id, expect=[Status.QUEUED], status=Status.SUCCEEDED, progress=100, cost=1600,
            video_path="videos/made.mp4", pid="s_" + "a" * 32,
        )
        store.add_generation(  # queued, and nothing sends it: the list goes on being redrawn
            {"prompt": "A blue kite over a field"}, service=connection.service_id, account=connection.account
        )
    finally:
        store.dispose()
    at.run()
    assert not at.exception, at.exception
    assert "1 video is being made" in texts(at)
    [download] = [d for d in at.get("download_button") if d.proto.id.endswith(f"download_{made.id}")]
    assert download.proto.url and not download.proto.deferred_file_id  # the file, on every redraw

    at.switch_page("app_pages/library.py")
    at.query_params["generation"] = str(made.id)  # its detail, where the Library's download is
    at.run()
    assert not at.exception, at.exception
    [kept] = [d for d in at.get("download_button") if d.proto.id.endswith(f"library_download_{made.id}")]
    assert kept.proto.url and not kept.proto.deferred_file_id  # the file, not one made on the click
