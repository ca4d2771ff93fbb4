"""Generate N, keep the best: N of one prompt at once on Generate and Images, with the total cost
shown before anything is sent; the N arrive in one group; each is kept or discarded (a discarded
one's files leave the media folder); the Library lists what is left, with the siblings under it.

The app runs with SORA_ENGINE=external here and the test drains an engine of its own, so what the
page shows after a drain is exactly what the store holds (no waiting on a background thread)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1.element_tree import Block

from grsai_api import InvalidRequestError
from studio.connection import sandbox_connection
from studio.db import Generation, LibraryFilter, Status, Store, default_url
from studio.generation import GenerationService
from studio.media import MediaStore

from .apptest_helpers import (
    click,
    creates,
    generate,
    new_app,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
    widget,
)
from .seed import drain, fast_engine


class Studio:
    """The app on a data folder, with the store and media folder it writes, and a drain."""

    def __init__(self, monkeypatch, data: Path) -> None:
        self.data = data
        self.at = new_app(monkeypatch, data, SORA_ENGINE="external")
        self.store = Store(default_url(data))
        self.media = MediaStore(data / "media")

    def rows(self) -> list[Generation]:
        with self.store.session() as session:
            return list(session.query(Generation).order_by(Generation.id))

    def drain(self) -> None:
        """The engine sends, follows and saves everything queued; then the page is drawn again."""
        drain(fast_engine(self.store, self.media, self.at.session_state["connection"]))
        self.at.run()
        assert not self.at.exception, self.at.exception

    def on_disk(self, row: Generation) -> list[Path]:
        names = [row.video_path, row.thumb_path]
        names += [f.get(k) for f in row.files or [] for k in ("path", "thumb")]
        return [self.data / "media" / name for name in names if name]


@pytest.fixture
def studio(tmp_path, monkeypatch):
    made = Studio(monkeypatch, tmp_path / "data")
    yield made
    made.store.dispose()


def groups(at) -> list[Block]:
    return [node for node in at.main if isinstance(node, Block) and (node.key or "").startswith("keep_best_")]


def labels(block) -> list[str]:
    return [b.label for b in block.button]


def made_three(studio: Studio, prompt: str = "a paper boat on a pond") -> list[Generation]:
    studio.at.text_area(key="generate_prompt").set_value(prompt)
    widget(studio.at, "generate_count").set_value(3)
    studio.at.run()
    click(studio.at, "Generate 3")
    studio.drain()
    return studio.rows()


# -- Generate -----------------------------------------------------------------------------------
def test_generate_three_shows_the_total_first_then_queues_one_group_once(studio) -> None:
    at = studio.at
    at.text_area(key="generate_prompt").set_value("a paper boat on a pond")
    widget(at, "generate_count").set_value(3)
    at.run()
    assert "3 videos cost **4,800 credits (¥0.24)** (1,600 each)" in texts(at)  # 3 × Sora 2's price
    assert "Generate 3" in [b.label for b in at.button]
    assert studio.rows() == [] and creates(at) == 0  # shown before anything is sent

    click(at, "Generate 3")
    rows = studio.rows()
    assert len(rows) == 3 and {r.status for r in rows} == {Status.QUEUED}
    assert len({r.group_key for r in rows}) == 1 and rows[0].group_key
    assert [r.request_key for r in rows] == [f"{rows[0].group_key}#{i}" for i in range(3)]
    [group] = groups(at)
    assert "3 of one prompt · keep the best" in texts(group) and len(group.get("progress")) == 3

    click(at, "Generate 3")  # a second click is the same submission
    assert len(studio.rows()) == 3
    assert "This exact request was already sent" in texts(at)

    studio.drain()
    assert creates(at) == 3
    assert [r.status for r in studio.rows()] == [Status.SUCCEEDED] * 3
    assert sum(r.cost for r in studio.rows()) == 4800
    [group] = groups(at)
    assert len(group.get("video")) == 3
    assert labels(group).count("Keep") == 3 and labels(group).count("Discard") == 3
    assert texts(group).count("a paper boat on a pond") == 1  # the prompt once, for all three


def test_generate_one_is_as_before_a_single_video_with_no_group(studio) -> None:
    at = studio.at
    assert "This video costs **1,600 credits (¥0.08)**" in texts(at)
    generate(at, "a single lighthouse")
    [row] = studio.rows()
    assert row.group_key is None and "#" not in row.request_key
    studio.drain()
    assert not groups(at) and len(at.get("video")) == 1
    assert "Keep" not in [b.label for b in at.button]
    assert studio.rows()[0].pick is None


def test_a_discarded_one_loses_its_files_and_the_library_lists_the_rest(studio) -> None:
    at = studio.at
    first, second, third = made_three(studio)
    files = studio.on_disk(second)
    assert files and all(p.exists() for p in files)

    at.button(key=f"keep_{first.id}").click()
    at.run()
    at.button(key=f"discard_{second.id}").click()
    at.run()
    assert not at.exception, at.exception
    assert not any(p.exists() for p in files)  # removed from the media folder for good
    assert all(p.exists() for p in studio.on_disk(first) + studio.on_disk(third))
    gone = studio.store.get(second.id)
    assert gone.pick == "discarded" and gone.video_path is None and gone.thumb_path is None
    assert gone.cost == 1600  # it was paid
    [group] = groups(at)
    assert "Discarded · file removed" in texts(group) and len(group.get("video")) == 2
    assert "Kept" in texts(group) and labels(group).count("Keep") == 1  # only the undecided one

    at.switch_page("app_pages/library.py")
    at.run()
    assert not at.exception, at.exception
    assert "Showing 1–2 of 2" in texts(at)
    assert "1 of 3 · kept" in texts(at) and "1 of 3" in texts(at)
    at.query_params["generation"] = str(first.id)
    at.run()
    assert not at.exception, at.exception
    assert "Made with it** · 3 of one prompt, this is Take 1" in texts(at)
    assert f"Take 2 · #{second.id}" in texts(at)
    assert f"#{second.id} · Discarded · file removed" in texts(at) and f"#{third.id} · Ready" in texts(at)
    at.button(key=f"library_sibling_{third.id}").click()
    at.run()
    assert at.query_params["generation"] == str(third.id)
    assert f"#{first.id} · Ready · kept" in texts(at)


def test_discard_the_rest_keeps_only_the_kept_one(studio) -> None:
    at = studio.at
    first, second, third = made_three(studio)
    [group] = groups(at)
    assert "Discard the rest" not in labels(group)  # nothing kept yet: never everything at once
    at.button(key=f"keep_{second.id}").click()
    at.run()
    click(at, "Discard the rest")
    click(at, "Discard 2 takes")
    picks = {r.id: r.pick for r in studio.rows()}
    assert picks == {first.id: "discarded", second.id: "kept", third.id: "discarded"}
    assert not any(p.exists() for p in studio.on_disk(first) + studio.on_disk(third))
    assert all(p.exists() for p in studio.on_disk(second))
    [group] = groups(at)
    assert texts(group).count("Discarded · file removed") == 2 and len(group.get("video")) == 1
    assert "Discard the rest" not in labels(group) and "Discard" not in labels(group)
    rows, total = studio.store.search(LibraryFilter())
    assert total == 1 and rows[0].id == second.id


def test_three_made_at_once_say_ready_once_and_are_labelled_as_takes(studio) -> None:
    """Three identical "Your video is ready" toasts stacked up: the group says it once, and each
    of the three is named by its take."""
    at = studio.at
    made_three(studio)
    assert [t.value for t in at.toast if "ready" in t.value] == ["Your 3 videos are ready: keep the best"]
    [group] = groups(at)
    shown = texts(group)
    assert shown.index("Take 1") < shown.index("Take 2") < shown.index("Take 3")


def test_discard_the_rest_asks_first_and_names_what_goes(studio) -> None:
    at = studio.at
    first, second, third = made_three(studio)
    at.button(key=f"keep_{second.id}").click()
    at.run()
    click(at, "Discard the rest")
    assert [r.pick for r in studio.rows()] == [None, "kept", None]  # nothing gone before the answer
    assert all(p.exists() for p in studio.on_disk(first) + studio.on_disk(third))
    asked = "\n".join(m.value for m in at.markdown)
    assert "Take 1 and Take 3" in asked and "for good" in asked and "Take 2" in asked  # which go, which stays
    click(at, "Cancel")
    assert [r.pick for r in studio.rows()] == [None, "kept", None]
    assert "Take 1 and Take 3" not in "\n".join(m.value for m in at.markdown)  # the question is gone
    click(at, "Discard the rest")
    click(at, "Discard 2 takes")
    assert [r.pick for r in studio.rows()] == ["discarded", "kept", "discarded"]
    assert not any(p.exists() for p in studio.on_disk(first) + studio.on_disk(third))


def member(at, row: Generation) -> Block:
    """The part of a group that draws one take."""
    def find(block):
        for child in block.children.values():
            if isinstance(child, Block):
                if child.key == f"member_{row.id}":
                    return child
                found = find(child)
                if found is not None:
                    return found
        return None

    found = find(at.main)
    assert found is not None, f"take {row.id} is not drawn"
    return found


def test_every_take_of_a_model_that_remixes_shows_its_pid_and_remix_this(studio) -> None:
    """Issue 20 (4): the kept take had no pid or "Remix this". Every finished take of a model the
    catalogue marks ``remix`` shows both, kept or not; its preview loops; a Veo take offers no remix."""
    at = studio.at
    first, second, third = made_three(studio)
    at.button(key=f"keep_{second.id}").click()
    at.run()
    for row in (first, second, third):
        take = member(at, row)
        assert row.pid and row.pid in [c.value for c in take.code], row.id
        assert "Remix this" in labels(take), row.id
    assert all(video.proto.loop for video in at.get("video"))
    member(at, second).button(key=f"remix_{second.id}").click()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["generate_remix_pid"] == second.pid
    assert at.text_area(key="generate_prompt").value == "a paper boat on a pond"

    at.segmented_control(key="generate_family").set_value("Veo 3.1")
    at.run()
    at.text_area(key="generate_prompt").set_value("a lighthouse at dusk")
    widget(at, "generate_count").set_value(2)
    at.run()
    click(at, "Generate 2")
    studio.drain()
    veo = [r for r in studio.rows() if r.model.startswith("veo")]
    assert len(veo) == 2 and all(r.status == Status.SUCCEEDED for r in veo)
    assert all("Remix this" not in labels(member(at, r)) for r in veo)


# -- Images -------------------------------------------------------------------------------------
def test_images_two_of_nano_banana_2_are_one_group_to_keep_from(studio) -> None:
    at = studio.at
    at.switch_page("app_pages/images.py")
    at.run()
    at.text_area(key="images_prompt").set_value("a lemon on blue paper")
    widget(at, "images_count").set_value(2)
    at.run()
    assert "2 images cost **2,400 credits (¥0.12)** (1,200 each)" in texts(at)
    click(at, "Make images")
    click(at, "Make images")  # the same submission
    rows = studio.rows()
    assert len(rows) == 2 and rows[0].model == "nano-banana-2" and rows[0].group_key == rows[1].group_key
    studio.drain()
    [group] = groups(at)
    assert "2 of one prompt · keep the best" in texts(group)
    assert labels(group).count("Animate this") == 2 and labels(group).count("Keep") == 2
    first, second = studio.rows()
    files = studio.on_disk(second)
    assert files and all(p.exists() for p in files)
    at.button(key=f"discard_{second.id}").click()
    at.run()
    assert not at.exception, at.exception
    assert not any(p.exists() for p in files) and studio.store.get(second.id).files is None
    [group] = groups(at)
    assert labels(group).count("Animate this") == 1 and "Discarded · file removed" in texts(group)


def test_gpt_image_has_variants_and_how_many(studio) -> None:
    at = studio.at
    at.switch_page("app_pages/images.py")
    at.run()
    at.segmented_control(key="images_family").set_value("GPT image")
    at.run()
    widget(at, "images_variants").set_value(2)
    widget(at, "images_count").set_value(3)
    at.run()
    assert "3 requests of 2 images cost **1,800 credits (¥0.09)** (600 each)" in texts(at)


# -- the service --------------------------------------------------------------------------------
# A group written once by its request key runs on both databases; refusals and a discard, flows whose
# point does not depend on the database, on SQLite (issue 22 #5).
@pytest.fixture
def service(database_url, tmp_path, make_sandbox):
    running = make_sandbox(render_profile="light", task_seconds=0.5, progress_interval=0.1)
    store = Store(database_url)
    yield GenerationService(store, MediaStore(tmp_path / "media"), sandbox_connection(running.base_url))
    store.dispose()


def _all(service: GenerationService) -> list[Generation]:
    with service.store.session() as session:
        return list(session.query(Generation).order_by(Generation.id))


@pytest.mark.parametrize(
    ("params", "n", "field"),
    [
        pytest.param({"prompt": "   "}, 3, "prompt", id="empty prompt"),
        pytest.param({"prompt": "a kite", "duration": 12}, 3, "duration", id="bad duration"),
        pytest.param({"prompt": "a kite"}, 9, "count", id="too many"),
        pytest.param({"prompt": "a kite"}, 0, "count", id="none"),
    ],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_input_to_many_stores_nothing(service, params, n, field) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        service.queue_many(params, n, request_key="form-1")
    assert refused.value.field == field and _all(service) == []


def test_many_is_one_group_once_and_one_is_a_plain_request(service) -> None:
    made = service.queue_many({"prompt": "a kite"}, 4, request_key="form-2")
    assert [created for _, created in made] == [True] * 4
    again = service.queue_many({"prompt": "a kite"}, 4, request_key="form-2")
    assert [created for _, created in again] == [False] * 4
    assert [g.id for g, _ in again] == [g.id for g, _ in made]
    assert [g.id for g in service.store.group_members("form-2")] == [g.id for g, _ in made]
    [(single, created)] = service.queue_many({"prompt": "a kite"}, 1, request_key="form-3")
    assert created and single.group_key is None and single.request_key == "form-3"
    assert len(_all(service)) == 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_only_a_finished_one_of_a_group_is_discarded_and_its_cost_stays(service) -> None:
    (first, _), (second, _) = service.queue_many({"prompt": "a kite"}, 2, request_key="form-4")
    single = service.submit({"prompt": "alone"}, request_key="form-5")
    assert not service.discard(first.id) and not service.keep(first.id)  # not made yet: refused
    assert service.store.get(first.id).pick is None
    drain(fast_engine(service.store, service.media, service.connection))
    assert not service.discard(single.id)  # not one of a group
    assert service.discard_rest("form-4") == []  # nothing kept: nothing discarded
    done = service.store.get(second.id)
    files = [service.media.path(p) for p in (done.video_path, done.thumb_path)]
    assert all(p.exists() for p in files)
    assert service.discard(second.id) and not service.discard(second.id)  # once
    gone = service.store.get(second.id)
    assert not any(p.exists() for p in files)
    assert (gone.pick, gone.video_path, gone.thumb_path, gone.files) == ("discarded", None, None, None)
    assert gone.status == Status.SUCCEEDED and gone.cost == 1600
    assert not service.keep(second.id)  # its file is gone: it cannot be kept
    assert service.keep(first.id) and service.store.get(first.id).pick == "kept"
    assert service.store.group_sizes(["form-4", "nothing"]) == {"form-4": 2}
