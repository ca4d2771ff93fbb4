"""Library: every past generation, newest first; search, filter, open, act."""

from __future__ import annotations

import hashlib
import math

import streamlit as st

from components.character_names import as_named, character_names
from components.guard import guarded
from components.keep_best import made_with_it
from components.lineage import lineage
from components.prompt_help import describe_result
from components.resources import app_config, balance_changed, connection, generation_service, media, store
from components.session import handoff, keep_a_choice, request_key, toast_later
from components.text import plain
from components.video import (
    KIND_LABELS,
    browser_zone,
    created,
    download_button,
    facts,
    failure_note,
    kept_download,
    status_badge,
    video_player,
)
from grsai_api import MODELS, GrsaiError, InvalidRequestError
from studio.code import as_curl, as_python, code_host
from studio.costs import credits_text
from studio.db import KINDS, LibraryFilter, Status
from studio.library import STATUS_LABELS, export_csv, page_frame
from studio.pictures import PictureTooLarge
from studio.presenting import COMPARE_SIZES, present_link

MAX_ID_DIGITS = 18  # ids fit a signed 64-bit column; a longer number is no id of ours
GRID_PAGE = 12
TABLE_PAGE = 50
COLUMNS = 4

conn, library, files = connection(), store(), media()


def open_detail(generation_id: int) -> None:
    st.query_params["generation"] = str(generation_id)


def close_detail() -> None:
    st.query_params.pop("generation", None)
    st.session_state.pop("library_confirm_delete", None)
    # a new table widget: the row stays unselected, so clicking it again opens it again
    st.session_state["library_table_round"] = st.session_state.get("library_table_round", 0) + 1


def table_key() -> str:
    return f"library_table_{st.session_state.get('library_table_round', 0)}"


def table_selected() -> None:
    rows = st.session_state[table_key()].selection.rows
    if rows:
        open_detail(int(st.session_state["library_table_ids"][rows[0]]))


def _images(generation) -> None:
    """An image generation's pictures (every variant), each with its download."""
    kept = files.present(generation.files)
    for number, item in enumerate(kept):
        st.image(files.source(item["path"]), width="stretch")
        kept_download(  # the file itself, like the video's (the sidebar's redraws swept one made on the click)
            files,
            item["path"],
            label=f"Download image {number + 1}" if len(kept) > 1 else "Download",
            file_name=f"image-{generation.id}-{number + 1}.png",
            mime="image/png",
            key=f"library_image_download_{generation.id}_{number}",
            live=True,
        )


def storyboard_shots(film) -> None:
    """A storyboard's film: its shots, in order, each with its frame, model, cost and an Open."""
    tries = library.shots_of(film.storyboard_id, every_try=True) if film.storyboard_id is not None else []
    shots = {shot.storyboard_shot: shot for shot in tries}  # in order of id: the newest try of each wins
    spent = sum(shot.cost for shot in tries)
    st.markdown(f"**{len(shots)} shots** · {credits_text(spent)}")
    for number in sorted(shots):
        shot = shots[number]
        picture, words, action = st.columns([1, 2, 1], vertical_alignment="center")
        if files.exists(shot.thumb_path):
            picture.image(files.source(shot.thumb_path), width=72)
        words.caption(f"Shot {number + 1} · {plain(shot.prompt, 60)} · {facts(shot)}")
        if action.button("Open", key=f"library_shot_{shot.id}", icon=":material/open_in_new:"):
            open_detail(shot.id)
            st.rerun()


def present_links(generation, has_family: bool) -> None:
    """Present mode for the sets this item belongs to: its remix family, its storyboard, its takes."""
    sets = []
    if has_family:
        sets.append(("Present this family", present_link("family", generation.pid)))
    if generation.storyboard_id is not None:
        sets.append(("Present the storyboard", present_link("storyboard", generation.storyboard_id)))
    if generation.group_key and library.group_sizes([generation.group_key]).get(generation.group_key, 0) > 1:
        sets.append(("Present the takes", present_link("group", generation.group_key)))
    for label, value in sets:
        st.page_link("app_pages/present.py", label=label, icon=":material/slideshow:", query_params={"present": value})


def compare_chosen() -> list[int]:
    return st.session_state.setdefault("library_compare", [])


def choose_to_compare(generation_id: int) -> None:
    chosen = compare_chosen()
    if generation_id in chosen:
        chosen.remove(generation_id)
    elif len(chosen) < max(COMPARE_SIZES):
        chosen.append(generation_id)


def compare_bar(where: str) -> None:
    """What is chosen to compare, and the button that opens them side by side (2 to 4 finished items);
    drawn above and below the grid, so it is in view after ticking a tile at either end (a phone)."""
    chosen = compare_chosen()
    if not chosen:
        return
    note, go, clear = st.columns([3, 1, 1], vertical_alignment="center")
    note.caption(
        f":material/compare: {len(chosen)} chosen to compare"
        + ("" if len(chosen) in COMPARE_SIZES else " · choose two to four")
    )
    if go.button(f"Compare {len(chosen)}", icon=":material/compare:", type="primary", width="stretch",
                 disabled=len(chosen) not in COMPARE_SIZES, key=f"library_compare_go_{where}"):
        st.switch_page("app_pages/present.py", query_params={"present": present_link("compare", chosen)})
    clear.button("Clear", icon=":material/close:", width="stretch", key=f"library_compare_clear_{where}",
                 on_click=clear_compare)


def clear_compare() -> None:
    """Nothing chosen, every box unticked (a callback: before the boxes are drawn)."""
    for generation_id in compare_chosen():
        st.session_state.pop(f"library_compare_{generation_id}", None)
    compare_chosen().clear()


def comparable(generation) -> bool:
    """Finished and kept: a video or picture that can be shown beside another."""
    return generation.status == Status.SUCCEEDED and generation.pick != "discarded"


@st.dialog("Details", width="large", on_dismiss=close_detail)
@guarded
def detail(generation_id: int) -> None:
    generation = library.get(generation_id)
    if generation is None:
        st.info("There is no generation with this number: it was deleted, or never existed.")
        return
    entry = MODELS.get(generation.model)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        if generation.status == Status.SUCCEEDED and generation.makes == "image":
            _images(generation)
        elif generation.status == Status.SUCCEEDED and generation.pick != "discarded":  # a discarded one's file is gone
            video_player(generation, files, autoplay=True)
        elif generation.status == Status.RUNNING:
            st.progress(generation.progress / 100, text=f"Being made: {generation.progress}%")
        failure_note(generation)
        described = describe_result(generation, files, key=f"library_{generation.id}")
        if described:  # the picture made a prompt: it opens the page that makes its kind
            page = "images" if generation.makes == "image" else "generate"
            handoff(page, **{f"{page}_prompt": described})
            close_detail()
            st.switch_page(f"app_pages/{page}.py")
    with right:
        status_badge(generation)
        st.text(as_named(generation.prompt))  # @Goldie, as people named the character
        cost = "" if generation.kind == "storyboard" else f" · {credits_text(generation.cost)}"  # its shots say
        st.caption(f"{facts(generation)} · {created(generation)}{cost}")
        if generation.pid:
            st.caption("pid (names this video for remixes and characters)")
            st.code(generation.pid, language=None)
        if generation.remix_target_id:
            st.caption("Remix of")
            st.code(generation.remix_target_id, language=None)
        lineage(library, generation)
        made_with_it(library, files, generation, open_detail)
        has_family = generation.pid and (generation.remix_target_id or library.children(generation.pid))
        if has_family and st.button(
            "Show this family in the Library", icon=":material/account_tree:", type="tertiary"
        ):
            st.session_state["library_family"] = generation.pid
            close_detail()
            st.rerun()
        present_links(generation, bool(has_family))
        if generation.image_ref:
            st.caption("Reference image")
            try:
                preview = files.preview(generation.image_ref)
            except PictureTooLarge as exc:  # kept before uploads were checked: never decoded whole
                st.caption(f"{exc}, so it is not shown.")
            else:
                if preview is not None:
                    st.image(preview, width=160)
        if generation.kind == "storyboard":
            storyboard_shots(generation)
        elif generation.storyboard_id is not None:
            board = library.storyboard(generation.storyboard_id)
            st.caption(
                f":material/movie_edit: Shot {(generation.storyboard_shot or 0) + 1} of the storyboard "
                f"“{plain(board.name if board else '')}”"
            )
            if board is not None and board.film_id and st.button("Open its film", icon=":material/movie:", type="tertiary"):
                open_detail(board.film_id)
                st.rerun()
        if generation.kind != "storyboard":  # a film is not one request: its shots are
            with st.expander("Copy as code", icon=":material/code:"):
                st.caption("This request, to run again outside the studio. The key is read from $GRSAI_API_KEY.")
                python, curl = st.tabs(["Python", "cURL"])
                host = code_host(generation, app_config().base_url if conn.is_sandbox else conn.base_url)
                try:
                    python.code(as_python(generation, host), language="python", wrap_lines=True)
                    curl.code(as_curl(generation, host), language="bash", wrap_lines=True)
                except InvalidRequestError as exc:  # a row from before a model changed its fields
                    st.caption(f"This request cannot be written as code today: {plain(exc.message)}")
    st.divider()
    actions = st.columns(5)
    if generation.kind == "storyboard":
        actions[0].page_link("app_pages/storyboard.py", label="Storyboard", icon=":material/movie_edit:")
    elif actions[0].button(
        "Re-run",
        icon=":material/replay:",
        type="primary",
        width="stretch",
        help="Make it again with exactly these settings and model (charged again).",
    ):
        try:
            generation_service().rerun(generation.id, request_key=request_key("library_rerun", generation.id))
        except GrsaiError as exc:
            st.error(f"It was not started: {exc.message}", icon=":material/error:")
        else:
            balance_changed()
            toast_later("Started again: follow it in the sidebar")
            close_detail()
            st.rerun()
    sora_features = entry is not None and entry.remix
    if generation.pid and sora_features and actions[1].button("Remix", icon=":material/auto_fix_high:", width="stretch"):
        handoff("remix", remix_source_pid=generation.pid, remix_prompt=generation.prompt)
        st.session_state.pop("remix_result_id", None)
        close_detail()
        st.switch_page("app_pages/remix.py")
    if generation.pid and sora_features and actions[2].button(
        "Create character",
        icon=":material/face:",
        width="stretch",
        help="Cut a Cameo character out of this video",
    ):
        handoff("characters", characters_source_id=generation.id)
        close_detail()
        st.switch_page("app_pages/characters.py")
    if generation.makes == "video":
        with actions[3]:
            # the file itself: while anything is made the sidebar redraws itself every 3 s, and a file
            # made on the click was swept 3 to 6 s later (the detail already reads it for its player)
            download_button(generation, files, key=f"library_download_{generation.id}", live=True)
    if st.session_state.get("library_confirm_delete") == generation.id:
        st.warning(
            "Delete this film and its shots for good?"
            if generation.kind == "storyboard"
            else "Delete this generation and its video for good?",
            icon=":material/delete:",
        )
        yes, no = st.columns(2)
        if yes.button("Yes, delete", type="primary", width="stretch"):
            generation_service().delete(generation.id)
            toast_later("Deleted")
            close_detail()
            st.rerun()
        if no.button("Keep it", width="stretch"):
            st.session_state.pop("library_confirm_delete", None)
            st.rerun()
    elif actions[4].button("Delete", icon=":material/delete:", width="stretch"):
        st.session_state["library_confirm_delete"] = generation.id
        st.rerun()
    st.caption(f"Link to this {generation.makes}: `?generation={generation.id}`")


def grid(rows) -> None:
    made_at_once = library.group_sizes(g.group_key for g in rows)  # one query for the page
    by_name = character_names()  # titles say @Goldie, not the handle sent
    for start in range(0, len(rows), COLUMNS):
        for column, generation in zip(st.columns(COLUMNS), rows[start : start + COLUMNS], strict=False):
            with column, st.container(border=True, key=f"tile_{generation.id}"):
                if files.exists(generation.thumb_path):
                    st.image(files.source(generation.thumb_path), width="stretch")
                else:
                    with st.container(height=110, vertical_alignment="center", horizontal_alignment="center"):
                        st.markdown(f"### {STATUS_LABELS.get(generation.status, '')}")
                st.markdown(f"**{plain(by_name.show(generation.prompt), 70)}**")
                with st.container(horizontal=True):
                    status_badge(generation)
                    if generation.kind == "remix":
                        st.badge("Remix", icon=":material/auto_fix_high:", color="violet")
                    if generation.kind == "storyboard":
                        st.badge("Storyboard", icon=":material/movie_edit:", color="blue")
                    if generation.batch_id is not None:
                        st.badge(f"Batch row {generation.batch_row}", icon=":material/dataset:", color="gray")
                    if generation.group_key in made_at_once:
                        kept = " · kept" if generation.pick == "kept" else ""
                        st.badge(
                            f"1 of {made_at_once[generation.group_key]}{kept}",
                            icon=":material/filter_none:",
                            color="violet" if kept else "gray",
                        )
                st.caption(f"{facts(generation)} · {created(generation)}")
                st.button(
                    "Open",
                    key=f"open_{generation.id}",
                    on_click=open_detail,
                    args=(generation.id,),
                    icon=":material/open_in_full:",
                    width="stretch",
                )
                if comparable(generation):
                    chosen = compare_chosen()
                    st.checkbox(
                        "Compare",
                        value=generation.id in chosen,
                        key=f"library_compare_{generation.id}",
                        on_change=choose_to_compare,
                        args=(generation.id,),
                        disabled=generation.id not in chosen and len(chosen) >= max(COMPARE_SIZES),
                        help="Choose two to four to see them side by side, playing together",
                    )


def table(rows) -> None:
    films = library.storyboard_costs(g.storyboard_id for g in rows if g.kind == "storyboard")
    frame = page_frame(rows, files, tz=browser_zone(), films=films)
    st.session_state["library_table_ids"] = frame["id"].tolist()
    st.dataframe(
        frame.drop(columns=["id"]),
        hide_index=True,
        key=table_key(),
        on_select=table_selected,
        selection_mode="single-row",
        row_height=60,
        column_order=[
            "thumbnail",
            "status",
            "model",
            "prompt",
            "kind",
            "aspect",
            "duration",
            "cost",
            "created",
            "pid",
        ],
        column_config={
            "thumbnail": st.column_config.ImageColumn("Preview", width="small"),
            "status": st.column_config.TextColumn("Status", width="small"),
            "model": st.column_config.TextColumn("Model", width="small"),
            "prompt": st.column_config.TextColumn("Prompt", width="medium"),
            "pid": st.column_config.TextColumn("pid"),
            "kind": st.column_config.TextColumn("Kind", width="small"),
            "aspect": st.column_config.TextColumn("Aspect", width="small"),
            "duration": st.column_config.NumberColumn("Seconds", format="%d s", width="small"),
            "cost": st.column_config.NumberColumn("Credits", format="%d", width="small"),
            "created": st.column_config.DatetimeColumn("Created", format="D MMM YYYY, HH:mm"),
        },
    )


st.title("Library")
totals = library.totals()
ready = totals["by_status"].get(Status.SUCCEEDED, 0)
st.caption(
    f"{totals['count']:,} generation{'' if totals['count'] == 1 else 's'} · {ready:,} ready · "
    f"{credits_text(totals['spent'])} spent or maybe spent in all (characters included)"
)

search, view = st.columns([4, 1], vertical_alignment="bottom")
text = search.text_input(
    "Search",
    key="library_search",
    placeholder="Words in the prompt, or a pid",
    icon=":material/search:",
)
mode = view.segmented_control("View", keep_a_choice("library_view", ["Grid", "Table"]), required=True, key="library_view")
FILTER_KEYS = ("library_status", "library_model", "library_makes", "library_kind", "library_aspect", "library_dates")
filtering = any(st.session_state.get(k) for k in FILTER_KEYS)
RATIOS = sorted({r for m in MODELS.values() for r in m.aspect_ratios if r != "auto"}, key=lambda r: (r not in ("16:9", "9:16"), r))
with st.expander("Filters" + (" · on" if filtering else ""), icon=":material/filter_list:", expanded=filtering):
    filters = st.columns(3)
    statuses = filters[0].multiselect(
        "Status",
        tuple(Status),
        key="library_status",
        format_func=STATUS_LABELS.get,
        placeholder="Any",
    )
    models = filters[1].multiselect(
        "Model", list(MODELS), key="library_model", format_func=lambda m: MODELS[m].name, placeholder="Any"
    )
    makes = filters[2].multiselect(
        "Videos or images",
        ["video", "image"],
        key="library_makes",
        format_func={"video": "Videos", "image": "Images"}.get,
        placeholder="Both",
    )
    filters = st.columns(3)
    kinds = filters[0].multiselect(
        "Made from", KINDS, key="library_kind", format_func=KIND_LABELS.get, placeholder="Anything"
    )
    aspects = filters[1].multiselect("Aspect ratio", RATIOS, key="library_aspect", placeholder="Any")
    dates = filters[2].date_input("Made between", value=(), key="library_dates", format="YYYY-MM-DD")
date_from, date_to = (tuple(dates) + (None, None))[:2] if isinstance(dates, tuple | list) else (dates, dates)
batches = {b.id: b for b in library.batches()}
if batches:  # batches are groups: pick one to see just its videos
    if st.session_state.get("library_batch") not in (None, *batches):
        st.session_state.pop("library_batch")
    st.selectbox(
        "Batch",
        [None, *batches],
        key="library_batch",
        format_func=lambda b: (
            "Every video, batch or not"
            if b is None
            else f"{batches[b].name} · {batches[b].created_at:%d %b %Y, %H:%M} · {batches[b].settings.get('rows', 0)} rows"
        ),
    )
in_batch = st.session_state.get("library_batch")
family = st.session_state.get("library_family")
if family:
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.info(
        f"Showing one family: the original of `{family}` and every remix made from it.",
        icon=":material/account_tree:",
    )
    if right.button("Show everything", icon=":material/close:"):
        st.session_state.pop("library_family")
        st.rerun()
wanted = LibraryFilter(
    text=text or "",
    statuses=tuple(statuses),
    kinds=tuple(kinds),
    aspect_ratios=tuple(aspects),
    date_from=date_from,
    date_to=date_to or date_from,
    family_pids=library.family_pids(family) if family else (),
    batch_id=in_batch,
    models=tuple(models),
    makes=tuple(makes),
    tz=browser_zone(),
)

per_page = GRID_PAGE if mode == "Grid" else TABLE_PAGE
# One pager per filter and view: a new search starts on page 1 without touching widget state.
page_key = "library_page_" + hashlib.sha1(repr((wanted, mode)).encode()).hexdigest()[:10]
page_number = max(1, int(st.session_state.get(page_key, 1)))
rows, total = library.search(wanted, offset=(page_number - 1) * per_page, limit=per_page)
pages = max(1, math.ceil(total / per_page))
if page_number > pages:  # rows were deleted under this page
    page_number = pages
    rows, total = library.search(wanted, offset=(page_number - 1) * per_page, limit=per_page)



def clear_filters() -> None:
    """Search, filters, batch and family back to everything (a callback: before the widgets draw)."""
    for key in ("library_search", *FILTER_KEYS, "library_batch", "library_family"):
        st.session_state.pop(key, None)


narrowed = bool(text or filtering or in_batch or family)
if not total and narrowed:
    note, action = st.columns([4, 1], vertical_alignment="center")
    note.info("Nothing matches this search and these filters.", icon=":material/search_off:")
    action.button("Clear the filters", icon=":material/filter_list_off:", on_click=clear_filters, width="stretch")
elif not total:
    st.info(
        "Nothing here yet: what you make on **Generate**, **Images** and **Batch** appears here.",
        icon=":material/video_library:",
    )
else:
    first = (page_number - 1) * per_page + 1
    st.caption(f"Showing {first:,}–{first + len(rows) - 1:,} of {total:,}")
    if mode == "Grid":
        compare_bar("top")
        grid(rows)
        compare_bar("bottom")
    else:
        table(rows)
    bottom_left, bottom_right = st.columns([3, 1], vertical_alignment="center")
    with bottom_left:
        st.pagination(pages, key=page_key, default=min(page_number, pages))
    bottom_right.download_button(
        "Export CSV",
        data=lambda: export_csv(library, wanted),
        file_name="grsai-library.csv",
        mime="text/csv",
        icon=":material/table:",
        on_click="ignore",
        width="stretch",
    )

selected = (st.query_params.get("generation") or "").strip()
if selected:  # a link to one generation; a number that is not one of ours says so in the dialog
    detail(int(selected) if selected.isdigit() and len(selected) <= MAX_ID_DIGITS else 0)
