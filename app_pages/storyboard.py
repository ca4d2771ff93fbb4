"""Storyboard: a list of shots (model, prompt, length, an optional start image), reorderable; "Make
all" hands them to the task engine, which makes them one after another, each carrying on from the
one before by its model's own means, and joins them into one film kept in the Library."""

from __future__ import annotations

import hashlib
import uuid

import streamlit as st

from components.brand_picker import brand_picker, fill_from_kit, picked_pictures
from components.character_names import character_names, name_chips
from components.guard import guarded
from components.model_picker import model_line
from components.pictures import show_uploads
from components.prompt_help import brief_to_shots, form_pictures, picture_of, prompt_help
from components.resources import (
    balance_changed,
    connection,
    credits_for,
    key_refused,
    media,
    model_board,
    store,
    storyboard_service,
)
from components.session import (
    catch_up,
    keep_a_choice,
    keep_widgets,
    request_key,
    restore_widgets,
    show_toasts,
    take_handoff,
)
from components.text import plain
from components.video import clock, kept_download, video_player
from grsai_api import MODELS, InvalidRequestError
from studio.connection import valid_url
from studio.costs import credits_text, format_credits, price
from studio.db import Status, StoryboardState
from studio.messages import held_by_refused_key
from studio.storyboard import (
    MAX_KEPT,
    MAX_SHOTS,
    STATE_WORDS,
    ShotPlan,
    go_on_words,
    keep_note,
    shot_progress,
)

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp"]
FIELDS = ("model", "prompt", "duration", "image_url", "brand")
REDRAW_SECONDS = 1.0
SHOWN = 5
# Offered on each empty shot's "Use an example" (a short ad, shot by shot), never shown grey as if written.
EXAMPLE_SHOTS = (
    "A trail runner laces a bright orange sneaker at dawn on a mountain path, close-up, slow push-in",
    "The runner sets off along the ridge, the camera tracking beside at ankle height",
    "The sneaker lands on a wet rock in slow motion, water splashing, golden light",
    "The runner stops at the summit and looks at the view, wide shot, the camera rising",
)

conn, library, files = connection(), store(), media()
board = model_board(conn)
VIDEO_MODELS = [m for m in MODELS.values() if m.kind == "video"]
st.session_state.setdefault("storyboard_order", [uuid.uuid4().hex[:8] for _ in range(2)])
order: list[str] = st.session_state["storyboard_order"]


def _key(field: str, uid: str) -> str:
    return f"storyboard_{field}_{uid}"


KEPT = ("storyboard_name", "storyboard_ratio", *(_key(f, uid) for uid in order for f in FIELDS))
restore_widgets(KEPT)
take_handoff("storyboard")


def add_shot() -> None:
    uid = uuid.uuid4().hex[:8]
    if order:  # a new shot starts with the model of the one before
        st.session_state[_key("model", uid)] = st.session_state.get(_key("model", order[-1]))
    order.append(uid)


def move(uid: str, step: int) -> None:
    at = order.index(uid)
    to = at + step
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]


def remove(uid: str) -> None:
    if len(order) > 1:
        order.remove(uid)
        for field in FIELDS:
            st.session_state.pop(_key(field, uid), None)
            st.session_state.pop(f"_kept_{_key(field, uid)}", None)


def length_choices(spec) -> list[int]:
    """The lengths a shot of this model is offered."""
    return [d for d in spec.durations if d in (5, 6, 8, 10, 15)] or list(spec.durations)


def plan_shots(shots: list[tuple[str, int]], model: str) -> None:
    """From a brief: the planned shots replace the plan (all on ``model``), to edit before Make all."""
    for uid in list(order):
        for field in FIELDS:
            st.session_state.pop(_key(field, uid), None)
            st.session_state.pop(f"_kept_{_key(field, uid)}", None)
    order.clear()
    for prompt, seconds in shots:
        uid = uuid.uuid4().hex[:8]
        order.append(uid)
        st.session_state[_key("model", uid)], st.session_state[_key("prompt", uid)] = model, prompt
        st.session_state[_key("duration", uid)] = seconds


def carries_on(number: int, spec, previous_spec, has_image: bool) -> str:
    """How a shot follows the one before, in words."""
    if number == 1:
        return "Opens the film" + (", from its start image." if has_image else ".")
    if has_image:
        return "A new scene, from its start image."
    if spec.remix and previous_spec is not None and previous_spec.remix:
        return f"A remix of shot {number - 1}: keeps its look, with this prompt."
    if spec.first_last_frames or spec.remix:  # Veo's first frame; Sora 2's image
        return f"Starts on the last frame of shot {number - 1}."
    return f"Takes the last frame of shot {number - 1} as its reference."


st.title("Storyboard")
st.caption(
    "Shots made one after another, each carrying on from the last, then joined into one film that "
    "plays here and is kept in the Library."
)
plan_col, made_col = st.columns([1, 1], gap="large")
with plan_col:
    left, right = st.columns([2, 1])
    name = left.text_input("Name (optional)", key="storyboard_name", placeholder="Lighthouse teaser", max_chars=200)
    ratio = right.segmented_control(
        "Aspect ratio", keep_a_choice("storyboard_ratio", ["16:9", "9:16"]), required=True, key="storyboard_ratio",
        help="One for every shot, so they join into one film.",
    )
    # The total and Make all head the plan, in the first screen (it was at y≈1336 under the shots);
    # the area is filled once every shot below has been read.
    action = st.container(key="storyboard_action")
    best = board.best("video") or VIDEO_MODELS[0]
    planner = MODELS.get(st.session_state.get(_key("model", order[0])) or "", best) if order else best
    brief_to_shots(planner, key="storyboard", lengths=tuple(length_choices(planner)),
                   apply=lambda shots: plan_shots(shots, planner.id))  # fmt: skip
    plans, slots, down, seconds, cost = [], {}, [], 0, 0
    previous_spec = None
    for number, uid in enumerate(order, start=1):
        with st.container(border=True, key=f"storyboard_shot_{uid}"):
            with st.container(horizontal=True, vertical_alignment="center", gap="small"):  # one row, even on a phone
                st.markdown(f"**Shot {number}**", width="stretch")
                st.button("", key=f"storyboard_up_{uid}", icon=":material/arrow_upward:", on_click=move,
                          args=(uid, -1), disabled=number == 1, type="tertiary", help="Move it earlier")
                st.button("", key=f"storyboard_down_{uid}", icon=":material/arrow_downward:", on_click=move,
                          args=(uid, 1), disabled=number == len(order), type="tertiary", help="Move it later")
                st.button("", key=f"storyboard_remove_{uid}", icon=":material/close:", on_click=remove, args=(uid,),
                          disabled=len(order) == 1, type="tertiary", help="Remove this shot")
            if st.session_state.get(_key("model", uid)) not in {m.id for m in VIDEO_MODELS}:
                st.session_state[_key("model", uid)] = best.id
            model = st.selectbox(
                "Model",
                [m.id for m in VIDEO_MODELS],
                key=_key("model", uid),
                format_func=lambda m: (f"{MODELS[m].family} " if MODELS[m].label else "")
                + model_line(board, MODELS[m], markdown=False),
            )
            spec = MODELS[model]
            if board.is_down(model):  # said beside the model, before anything else of the shot
                down.append(number)
                st.error(f"{board.why_down(model)}: choose another model for this shot.", icon=":material/cloud_off:")
            prompt = st.text_area(
                "Prompt", key=_key("prompt", uid), height=90,
                placeholder="What is seen in this shot, and how the camera moves",
            )
            if spec.characters:  # a Sora shot names characters as people named them: @Goldie
                name_chips(character_names(), _key("prompt", uid))
            example = EXAMPLE_SHOTS[min(number, len(EXAMPLE_SHOTS)) - 1]
            prompt_help(_key("prompt", uid), spec, key=f"storyboard_{uid}", example=example, image=lambda uid=uid: picture_of(
                form_pictures(f"storyboard_file_{uid}", _key("image_url", uid)) + picked_pictures(_key("brand", uid))
            ))  # its start image, when it has one, can be described  # fmt: skip
            duration = None
            if spec.durations:
                choices = [d for d in spec.durations if d in (5, 6, 8, 10, 15)] or list(spec.durations)
                duration = st.segmented_control(
                    "Length", keep_a_choice(_key("duration", uid), choices, spec.default_duration), required=True, key=_key("duration", uid), format_func=lambda s: f"{s} s"
                )
            length = duration or spec.seconds or spec.default_duration or 0
            with st.expander("Start image (optional)", icon=":material/image:",
                             expanded=bool(st.session_state.get(_key("brand", uid)))):  # fmt: skip
                upload = st.file_uploader(
                    "Upload an image", type=IMAGE_TYPES, key=f"storyboard_file_{uid}", max_upload_size=20
                )
                typed = st.text_input("…or its web address", key=_key("image_url", uid), placeholder="https://…")
                from_kit = brand_picker(_key("brand", uid), limit=1, label="…or one from the brand kit")
                if upload is not None:
                    show_uploads([upload.getvalue()], 160)
            [image] = fill_from_kit([upload.getvalue() if upload is not None else (typed or "").strip() or None], from_kit)
            st.caption(
                f":material/link: {carries_on(number, spec, previous_spec, bool(image))} "
                f"· {length} s · {credits_text(price(model))}"
            )
            if isinstance(image, str) and image == (typed or "").strip() and not valid_url(image):
                st.caption(":material/error: The image address must start with https://")
            slots[f"shot-{number}"] = st.empty()
            plans.append(ShotPlan(model, prompt or "", duration, image))
            seconds += length
            cost += price(model)
            previous_spec = spec
    st.button(
        "Add a shot", icon=":material/add:", on_click=add_shot, disabled=len(order) >= MAX_SHOTS,
        help=f"Up to {MAX_SHOTS} shots",
    )
    kept = brand_picker("storyboard_keep", limit=MAX_KEPT, label="Keep in every shot")  # the same product or face
    if kept and (note := keep_note([p.model for p in plans], [a.name for a in kept])):
        st.caption(f":material/info: {note}")
    slots["keep"] = st.empty()
    with action:
        credits = credits_for(conn)
        count = len(plans)
        st.markdown(
            f"{count} shot{'s' if count != 1 else ''} · about {clock(seconds)} · **{credits_text(cost)}** · "
            f"**{format_credits(credits)}** left"
        )
        if credits is not None and credits < cost:
            st.warning("There are not enough credits left for every shot.", icon=":material/account_balance_wallet:")
        clicked = st.button(
            "Make all", type="primary", icon=":material/movie_edit:", width="stretch", disabled=bool(down)
        )
        slots["shots"] = st.empty()
    if clicked:
        fingerprint = hashlib.sha256(
            repr([(p.model, p.prompt, p.duration, p.image if isinstance(p.image, str) else hashlib.sha256(p.image or b"").hexdigest()) for p in plans]
                 + [name, ratio, [a.ref for a in kept]]).encode()
        ).hexdigest()
        try:
            board_id, created = storyboard_service().make_all(
                name or "", plans, ratio, request_key=request_key("storyboard", fingerprint), keep=[a.ref for a in kept]
            )
        except InvalidRequestError as exc:
            slots.get(exc.field or "", slots["shots"]).error(exc.message, icon=":material/error:")
        else:
            if created:
                balance_changed()
                st.toast("Started: the shots are made one after another.", icon=":material/movie_edit:")
            else:
                slots["shots"].info("This storyboard was already started: it is on the right.", icon=":material/info:")


FRAME_WIDTH = 96  # a made shot's frame beside its line


def shot_lines(item, rows: dict) -> None:
    """The progress of a storyboard being made: one line per shot with its state in words and,
    once it is made, its frame."""
    share, lines = shot_progress(rows, len(item.shots))
    made = sum(1 for _, _, row in lines if row is not None and row.status == Status.SUCCEEDED)
    if item.state == "joining":
        st.progress(1.0, text="Joining the shots into one film")
    else:
        st.progress(share, text=f"{made} of {len(lines)} shots made")
    for number, words, row in lines:
        with st.container(horizontal=True, vertical_alignment="center", gap="small",
                          key=f"storyboard_line_{item.id}_{number}"):
            if row is not None and row.status == Status.SUCCEEDED and files.exists(row.thumb_path):
                st.image(files.source(row.thumb_path), width=FRAME_WIDTH)
            st.markdown(f"**Shot {number}** · {words}", width="stretch")


STATE_BADGES = {  # the colours and icons of a video card's badge (components/video.py)
    StoryboardState.DONE: ("green", ":material/check_circle:"),
    StoryboardState.STOPPED: ("red", ":material/block:"),
}


def storyboard_card(item) -> None:
    rows = library.shots_of(item.id)
    with st.container(border=True, key=f"storyboard_made_{item.id}"):
        colour, icon = STATE_BADGES.get(item.state, ("blue", ":material/progress_activity:"))
        words = STATE_WORDS.get(item.state, item.state)
        held = item.state == StoryboardState.RUNNING and key_refused(conn)  # the sidebar's one reading of the key
        if held:  # its shots cannot be sent: none of them is being made
            colour, icon, words = "orange", ":material/key_off:", "Waiting"
        # the badge takes the room its words need ("Being made" was cut to "Being ma…" in a column)
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(f"**{plain(item.name, 80)}**", width="stretch")
            st.badge(words, color=colour, icon=icon)
        film = library.get(item.film_id) if item.film_id else None
        if film is not None:
            video_player(film, files)
            st.caption(f"{len(item.shots)} shots · {clock(film.duration)} · {credits_text(sum(r.cost for r in rows.values()))}")
            left, right = st.columns(2)
            if files.exists(film.video_path):
                with left:
                    kept_download(
                        files, film.video_path, file_name=f"storyboard-{item.id}.mp4", mime="video/mp4",
                        key=f"storyboard_download_{item.id}", live=busy, width="stretch",
                    )
            right.page_link(
                "app_pages/library.py", label="Open in the Library", icon=":material/video_library:",
                query_params={"generation": str(film.id)},
            )
            return
        if item.state == StoryboardState.DONE:
            st.caption("Its film was deleted from the Library.")
            return
        shot_lines(item, rows)
        if held:  # a new key is a new account: these shots go only with this key
            st.warning(
                "Nothing is being sent: the service refused this storyboard's API key. "
                + held_by_refused_key("Its shots", "stop it", "make it again", "**Settings**"),
                icon=":material/key_off:",
            )
        if item.state == StoryboardState.STOPPED:
            st.error(plain(item.error or "It stopped."), icon=":material/block:")
            st.caption(go_on_words(item, rows))
            if st.button("Go on", key=f"storyboard_resume_{item.id}", icon=":material/play_arrow:",
                         help="Makes the shot that failed again (charged again) and carries on."):
                storyboard_service().resume(item.id)
                st.rerun()
        elif item.state == StoryboardState.RUNNING and st.button(
            "Stop", key=f"storyboard_stop_{item.id}", icon=":material/stop:", type="tertiary",
            help="The shot being made is finished and kept; the rest are not sent.",
        ):
            storyboard_service().stop(item.id)
            st.rerun()


with made_col:
    show_toasts()
    made = library.storyboards_for(conn.service_id, conn.account, SHOWN)
    busy = any(item.state in (StoryboardState.RUNNING, StoryboardState.JOINING) for item in made)

    @st.fragment(run_every=REDRAW_SECONDS if busy else None)
    @guarded
    def storyboards() -> None:
        items = library.storyboards_for(conn.service_id, conn.account, SHOWN)
        if not items:
            st.info(
                "Your storyboards appear here as their shots are made. Plan the shots and press **Make all**.",
                icon=":material/movie_edit:",
            )
        for item in items:
            storyboard_card(item)
        if busy and not any(item.state in (StoryboardState.RUNNING, StoryboardState.JOINING) for item in items):
            catch_up()  # all finished: let the page (and its timer) catch up

    storyboards()


keep_widgets(KEPT)
