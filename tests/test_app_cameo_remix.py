"""Cameo and Remix through AppTest: clip -> character -> prompt -> video; video -> character;
video -> remix -> side by side; three generations of lineage; and every bad input."""

from __future__ import annotations

import httpx
import pytest

from components.text import plain
from grsai_api import Client
from sandbox.control import control_headers
from studio.config import SANDBOX_API_KEY
from studio.db import LibraryFilter, Store, default_url

from .apptest_helpers import (
    beside,
    block_of,
    button,
    click,
    creates,
    errors,
    generate,
    new_app,
    remix_a_made_video,
    run_until,
    sandbox_counters,
    service_url,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
    widget,
)
from .seed import ready_character


@pytest.fixture
def app(tmp_path, monkeypatch):
    return new_app(monkeypatch, tmp_path / "data")


def store_of(tmp_path) -> Store:
    return Store(default_url(tmp_path / "data"))


def sandbox_video_url(at) -> str:
    """A clip at a web address the service can reach: a video the sandbox made."""
    with Client(api_key=SANDBOX_API_KEY, base_url=service_url(at)) as client:
        return client.wait(
            client.create_video(prompt="a round orange fox mascot waving"), interval=0.2
        ).video_url


def test_clip_to_character_to_prompt_to_video(app, tmp_path) -> None:
    clip_url = sandbox_video_url(app)
    app.switch_page("app_pages/characters.py")
    app.run()
    assert "No real people" in texts(app)  # said before anything is uploaded
    widget(app, "characters_clip_way").set_value("Web address")
    app.run()
    widget(app, "characters_clip_url").set_value(clip_url)
    app.run()
    click(app, "Load clip")
    assert "from **0.0 s to 3.0 s** of a 10.0 s clip" in texts(app)
    widget(app, "characters_clip_start").set_value(2.0)
    widget(app, "characters_clip_label").set_value("Orange fox mascot")
    app.run()
    click(app, "Create character", contains=True)
    run_until(app, lambda at: any(c.value.startswith("@") for c in at.code))
    [character] = store_of(tmp_path).characters()
    assert (
        character.status == "succeeded"
        and character.timestamps == "2,5"
        and character.label == "Orange fox mascot"
    )
    assert "@Orange_fox_mascot" in [c.value for c in app.code]  # typed by its name
    assert f"Sent as @{plain(character.character_id)}" in texts(app)
    click(app, "Use in a prompt")
    app.switch_page("app_pages/generate.py")  # AppTest follows st.switch_page for one run only
    prompt = widget(app, "generate_prompt").value
    assert prompt.strip() == "@Orange_fox_mascot"
    [chip] = [b for b in app.button if b.key == f"generate_mention_{character.id}"]
    assert chip.label == "Orange fox mascot · @Orange\\_fox\\_mascot"  # its name and what is typed
    widget(app, "generate_prompt").set_value(prompt + "waves from a sunny beach")
    app.run()
    assert "matches no character" not in texts(app)
    click(app, "Generate")
    run_until(app, lambda at: at.get("video"))
    made = store_of(tmp_path).search(LibraryFilter(text="sunny beach"))[0][0]
    assert made.status == "succeeded" and character.character_id in made.prompt


def test_a_video_becomes_a_character_from_the_library(app, tmp_path) -> None:
    generate(app, "a dancer on a rooftop at dusk")
    run_until(app, lambda at: at.get("video"))
    video = store_of(tmp_path).search(LibraryFilter())[0][0]
    app.switch_page("app_pages/library.py")
    app.run()
    app.query_params["generation"] = str(video.id)
    app.run()
    click(app, "Create character")
    app.switch_page("app_pages/characters.py")
    assert f"**From:** {video.prompt}" in texts(app)
    widget(app, "characters_video_label").set_value("Rooftop dancer")
    app.run()
    click(app, "Create character", contains=True)
    run_until(app, lambda at: any(c.value.startswith("@") for c in at.code))
    [character] = store_of(tmp_path).characters()
    assert (
        character.source == "video" and character.source_pid == video.pid and character.status == "succeeded"
    )
    assert f"From “{video.prompt}”" in texts(app)  # people know their videos by prompt, not pid


def test_video_to_remix_plays_side_by_side(app, tmp_path) -> None:
    remix_a_made_video(app)
    widget(app, "remix_prompt").set_value("the same harbour in a snowstorm")
    app.run()
    click(app, "Remix ·", contains=True)
    run_until(app, lambda at: "Side by side" in [h.value for h in at.subheader])
    order = list(app.main)
    the_button = next(n for n, node in enumerate(order) if node is button(app, "Remix ·", contains=True))
    videos = [n for n, node in enumerate(order) if node.type == "video"]
    assert len(videos) == 2  # the original once, beside the remix
    assert the_button < min(videos)  # right under the button, not below the original
    remix = store_of(tmp_path).search(LibraryFilter(kinds=("remix",)))[0][0]
    original = store_of(tmp_path).search(LibraryFilter(kinds=("text",)))[0][0]
    assert remix.remix_target_id == original.pid and remix.pid in [c.value for c in app.code]


def test_remix_offers_only_finished_videos_that_can_be_remixed(app, tmp_path) -> None:
    """A Veo video, a picture and a storyboard's film are not offered (no remix can be made of
    them); nothing shows as chosen before a click, and a click chooses the video clicked."""
    from sqlalchemy import insert

    from studio.db import Generation
    from studio.generation import GenerationService
    from studio.media import MediaStore

    store = store_of(tmp_path)
    service = GenerationService(
        store, MediaStore(tmp_path / "data" / "media"), app.session_state["connection"]
    )
    made = [
        service.submit(params)
        for params in (
            {"prompt": "Sora: a quiet harbour"},
            {"prompt": "Veo: a meadow in wind", "model": "veo3.1-fast"},
            {"prompt": "Banana: a lemon on a plate", "model": "nano-banana-2"},
            {"prompt": "Sora: a lighthouse at dusk"},
        )
    ]
    run_until(app, lambda _: all(store.get(g.id).status == "succeeded" for g in made))
    with store.session() as session, session.begin():
        session.execute(
            insert(Generation).values(
                kind="storyboard",
                status="succeeded",
                model="sora-2",
                prompt="Film: harbour / lighthouse",
                aspect_ratio="16:9",
                duration=20,
                size="",
                service="sandbox",
                progress=100,
            )
        )
    app.switch_page("app_pages/remix.py")
    app.run()
    offered = [b for b in app.button if (b.key or "").startswith("remix_pick_")]
    assert sorted(b.key for b in offered) == sorted(f"remix_pick_{g.id}" for g in (made[0], made[3]))
    assert all(b.proto.type != "primary" for b in offered)  # nothing chosen yet
    assert "Pick a video above" in texts(app)
    click(app, "Remix this one")
    [chosen] = [
        b for b in app.button if (b.key or "").startswith("remix_pick_") and b.proto.type == "primary"
    ]
    assert "Pick a video above" not in texts(app) and widget(app, "remix_prompt") is not None
    assert chosen.key == f"remix_pick_{made[3].id}"  # the newest, first in the grid, was clicked
    assert len(app.get("video")) == 1  # the original, once


def test_three_generations_of_lineage_show_as_a_chain_and_a_family(app, tmp_path) -> None:
    from studio.generation import GenerationService
    from studio.media import MediaStore

    service = GenerationService(
        store_of(tmp_path), MediaStore(tmp_path / "data" / "media"), app.session_state["connection"]
    )

    def made(params):
        generation = service.submit(params)  # queued: the app's engine sends and follows it
        run_until(app, lambda _: service.store.get(generation.id).status == "succeeded")
        return service.store.get(generation.id)

    original = made({"prompt": "Original: a lighthouse"})
    remix = made({"prompt": "Remix: the lighthouse in fog", "remix_target_id": original.pid})
    grandchild = made({"prompt": "Remix of remix: the lighthouse at night", "remix_target_id": remix.pid})
    made({"prompt": "An unrelated teapot"})
    app.switch_page("app_pages/library.py")
    app.run()
    app.query_params["generation"] = str(grandchild.id)
    app.run()
    chain = next(m.value for m in app.markdown if "→" in m.value)
    assert (
        chain.index("Original: a lighthouse")
        < chain.index("Remix: the lighthouse in fog")
        < chain.index("**Remix of remix")
    )
    click(app, "Show this family in the Library")
    assert "Showing 1–3 of 3" in texts(app) and "teapot" not in texts(app)
    app.query_params["generation"] = str(original.id)
    app.run()
    assert "1 remix of this video" in texts(app)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/", "we can play"),
        ("/media/nothing.mp4", "expired or never existed"),
        ("file:///etc/passwd", "Only http:// and https://"),  # a file on the app's machine is never read
    ],
)
def test_a_clip_that_will_not_do_is_explained_and_nothing_is_sent(app, url, message) -> None:
    app.switch_page("app_pages/characters.py")
    app.run()
    widget(app, "characters_clip_way").set_value("Web address")
    app.run()
    widget(app, "characters_clip_url").set_value(url if url.startswith("file:") else service_url(app) + url)
    app.run()
    click(app, "Load clip")
    assert message in "\n".join(e.value for e in app.error)
    assert not [b for b in app.button if b.label.startswith("Create character")]
    assert sandbox_counters(app).get("received_upload_character", 0) == 0


def test_prompts_naming_unknown_or_too_many_characters_are_caught(app, tmp_path) -> None:
    widget(app, "generate_prompt").set_value("@nobody.abc123 dances")
    app.run()
    assert "@nobody.abc123 matches no character" in texts(app)
    widget(app, "generate_clip_url").set_value("not a link")
    app.run()
    click(app, "Attach clip")
    assert "needs a web address" in "\n".join(e.value for e in app.error)
    clip = sandbox_video_url(app)
    for _ in range(2):
        widget(app, "generate_clip_url").set_value(clip)
        app.run()
        click(app, "Attach clip")
    assert (
        "@character1" in widget(app, "generate_prompt").value
        and "@character2" in widget(app, "generate_prompt").value
    )
    assert "Characters (optional) · 2 of 2" in [e.label for e in app.expander]
    widget(app, "generate_prompt").set_value(widget(app, "generate_prompt").value + " @character3")
    app.run()
    assert "@character3 matches no character" in texts(app)
    store = store_of(tmp_path)
    before = creates(app)
    click(app, "Remove")  # one clip fewer: @character2 now names nothing either
    click(app, "Generate")
    said = beside(app, "generate_prompt")
    assert "@nobody.abc123, @character2, @character3 names no character, so nothing was sent" in said.replace(
        "\\", ""
    )
    assert store.search(LibraryFilter())[1] == 0
    prompt = widget(app, "generate_prompt").value
    for unknown in ("@nobody.abc123", "@character2", "@character3"):
        prompt = prompt.replace(unknown, "")
    widget(app, "generate_prompt").set_value(prompt)
    click(app, "Generate")  # one clip, named once: sent
    assert not errors(app)
    [made] = store.search(LibraryFilter())[0]
    assert len(made.characters) == 1 and "@character1" in made.prompt
    run_until(app, lambda _: creates(app) == before + 1)


def test_a_bad_pasted_pid_on_remix_is_explained(app) -> None:
    app.switch_page("app_pages/remix.py")
    app.run()
    widget(app, "remix_pasted").set_value("s_123")
    app.run()
    click(app, "Use this pid")
    assert "s_ followed by 32 characters" in "\n".join(e.value for e in app.error)
    assert "Pick a video above" in texts(app)


def test_an_empty_remix_prompt_is_explained_and_nothing_is_sent(app, tmp_path) -> None:
    remix_a_made_video(app)
    widget(app, "remix_prompt").set_value("   ")
    app.run()
    click(app, "Remix ·", contains=True)
    form = block_of(app, "remix_prompt")  # the "Your remix" column
    assert "Write a prompt first" in "\n".join(e.value for e in form.error)
    assert store_of(tmp_path).search(LibraryFilter(kinds=("remix",)))[1] == 0
    assert "Side by side" not in [h.value for h in app.subheader] and not app.get("progress")
    assert creates(app) == 1  # the original only


def test_a_character_is_typed_by_its_name_and_titled_by_it(app, tmp_path) -> None:
    """Named "Goldie", it is typed @goldie (offered as one types @), sent as its handle, and the
    card says @Goldie; the form clears after Create, and a second "goldie" is refused in words."""
    clip_url = sandbox_video_url(app)
    app.switch_page("app_pages/characters.py")
    app.run()

    def make(name: str) -> None:
        widget(app, "characters_clip_way").set_value("Web address")
        app.run()
        widget(app, "characters_clip_url").set_value(clip_url)
        app.run()
        click(app, "Load clip")
        widget(app, "characters_clip_label").set_value(name)
        app.run()
        click(app, "Create character", contains=True)

    make("Goldie")
    assert widget(app, "characters_clip_url").value == ""  # the form is empty again: no clip, span or name
    assert not [w for w in app.text_input if w.key == "characters_clip_label"]
    run_until(app, lambda at: any(c.value.startswith("@") for c in at.code))
    [goldie] = store_of(tmp_path).characters()
    make("goldie")
    assert "Another of your characters is already called @goldie" in beside(app, "characters_clip_label")
    assert len(store_of(tmp_path).characters()) == 1
    goran = ready_character(store_of(tmp_path), "Goran", "calm_river.11aa22")
    app.run()
    widget(app, f"characters_label_{goran.id}").set_value("GOLDIE")  # renamed to a name already used
    app.run()
    assert "already called @GOLDIE" in beside(app, f"characters_label_{goran.id}")
    assert widget(app, f"characters_label_{goran.id}").value == "Goran"
    assert store_of(tmp_path).get_character(goran.id).label == "Goran"

    app.switch_page("app_pages/generate.py")
    app.run()
    widget(app, "generate_prompt").set_value("a sunny beach, then @gol")
    app.run()
    assert "Characters: @Goldie" in texts(app)
    click(app, "@Goldie")
    assert widget(app, "generate_prompt").value == "a sunny beach, then @Goldie "
    widget(app, "generate_prompt").set_value("a sunny beach, then @Goldie waves")
    app.run()
    assert "matches no character" not in texts(app)
    click(app, "Generate")
    run_until(app, lambda at: at.get("video"))
    sent = f"a sunny beach, then @{goldie.character_id} waves"
    [made] = store_of(tmp_path).search(LibraryFilter(text="sunny beach"))[0]
    assert made.prompt == sent and made.status == "succeeded"
    seen = httpx.get(f"{service_url(app)}/sandbox/stats", headers=control_headers(service_url(app))).json()
    assert seen["creates_by_prompt"].get(sent) == 1
    assert "**a sunny beach, then @Goldie waves**" in [m.value for m in app.markdown]  # the card's title
    app.switch_page("app_pages/library.py")
    app.run()
    assert "**a sunny beach, then @Goldie waves**" in [m.value for m in app.markdown]  # its tile
    app.query_params["generation"] = str(made.id)
    app.run()
    assert "a sunny beach, then @Goldie waves" in [t.value for t in app.text]  # the detail's title


def test_an_empty_remix_prompt_says_what_to_write_and_an_example_is_one_click_away(app) -> None:
    """Issue 20 (9): the grey example prompt looked filled in; "Use an example" fills it for real."""
    remix_a_made_video(app)
    field = app.text_area(key="remix_prompt")
    assert field.placeholder.startswith("Say what changes") and field.value in ("", None)
    click(app, "Use an example")
    example = app.text_area(key="remix_prompt").value
    assert len(example) > 20 and example != field.placeholder
    assert not any(b.label == "Use an example" for b in app.button)
