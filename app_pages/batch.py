"""Batch: a CSV of products -> many videos, sent in the background, with results and a zip."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from components.brand_picker import brand_kit
from components.character_names import character_names, name_chips
from components.guard import guarded
from components.model_picker import model_picker
from components.prompt_help import prompt_help
from components.resources import (
    app_config,
    balance_changed,
    batch_service,
    connection,
    credits_for,
    key_refused,
    media,
    model_board,
    store,
)
from components.session import catch_up, keep_a_choice, request_key
from components.sidebar import redraws_itself
from components.spec_form import model_form
from components.text import plain
from components.video import clock, local_time, video_player
from grsai_api import MODELS
from studio.batch import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    MAX_MODERATION_RETRIES,
    SHOWN_STATUSES,
    BatchInputError,
    BatchProgress,
    NotEnoughCredits,
    Plan,
    example_template,
    manifest_name,
    plan_rows,
    read_table,
    source_name,
    tally_of,
    template_fits,
    zip_name,
)
from studio.characters import CharacterNames
from studio.costs import credits_text, format_credits
from studio.db import BatchState, Status
from studio.messages import REFUSALS_KEPT, held_by_refused_key

conn, library, files = connection(), store(), media()
service = batch_service()
SHOWN_BATCH = "batch_shown"
EXAMPLE = (
    "product,colour,slogan,aspect_ratio\n"
    "Trail runner sneaker,red,Run further,16:9\n"
    "Insulated water bottle,sky blue,Cold for 24 hours,9:16\n"
    "Ceramic coffee mug,sand,Your slow morning,16:9\n"
)
DEFAULT_TEMPLATE = (
    "A {colour} {product} turning slowly on a studio table, soft light, the words “{slogan}” appear"
)
SPEED = "Videos sent at a time"  # not "made": once sent, every video is made at once on the service
SPEED_HELP = (
    "How many rows are being sent to the service at any moment; once sent, a video is made on the service "
    "alongside all the others. More at a time gets a large batch started sooner. The service takes about "
    "500 a minute; when it asks to wait, the batch slows down by itself."
)
EXAMPLE_FILLED = "batch_template_example"  # the example the page filled in, not the person's own words


def fill_example(example: str) -> None:
    st.session_state.update({"batch_template": example, EXAMPLE_FILLED: example})


def show_batch(batch_id: int | None) -> None:
    if batch_id is None:
        st.session_state.pop(SHOWN_BATCH, None)
        st.query_params.pop("batch", None)
    else:
        st.session_state[SHOWN_BATCH] = batch_id
        st.query_params["batch"] = str(batch_id)


def reading() -> tuple[pd.DataFrame | None, str]:
    """The table the person gave (upload or paste), or None; and a name for the batch."""
    way = st.segmented_control(
        "Your products",
        keep_a_choice("batch_way", ["Upload a CSV", "Paste rows"]),
        required=True,
        key="batch_way",
    )
    slot = st.empty()
    data, name = None, ""
    if way == "Upload a CSV":
        upload = st.file_uploader(
            "Product table (CSV with a header row)",
            type=["csv", "tsv", "txt"],
            key="batch_file",
            max_upload_size=20,
        )
        if upload is not None:
            data, name = upload.getvalue(), upload.name.rsplit(".", 1)[0]
    else:
        pasted = st.text_area(
            "Rows, with a header row first (copied from a spreadsheet, or comma-separated)",
            key="batch_paste",
            height=160,
            placeholder=EXAMPLE,
        )
        if pasted.strip():
            data, name = pasted, "Pasted rows"
    st.download_button(
        "Example CSV",
        EXAMPLE,
        file_name="products-example.csv",
        mime="text/csv",
        icon=":material/download:",
        type="tertiary",
        on_click="ignore",
    )
    if data is None:
        return None, name
    try:
        return read_table(data), name
    except BatchInputError as exc:
        slot.error(str(exc), icon=":material/error:")
        return None, name


def planning(frame: pd.DataFrame) -> tuple[Plan | None, str]:
    columns = list(frame.columns)
    st.caption(f"{len(frame):,} rows · columns: " + ", ".join(f"`{c}`" for c in columns))
    with st.expander("The table as read (first 5 rows)", icon=":material/table_view:"):
        st.dataframe(frame.head(5), hide_index=True)  # accents and columns as they were decoded
    if "prompt" in columns:
        source = st.segmented_control(
            "Prompts from",
            keep_a_choice("batch_source", ["The prompt column", "A template"]),
            required=True,
            key="batch_source",
        )
    else:
        source = "A template"
    template = ""
    if source == "A template":
        filled = st.session_state.get(EXAMPLE_FILLED)
        if filled and st.session_state.get("batch_template") == filled and not template_fits(filled, columns):
            st.session_state["batch_template"] = ""  # an example made for another file: this one's is offered
        if "batch_template" not in st.session_state and template_fits(DEFAULT_TEMPLATE, columns):
            fill_example(DEFAULT_TEMPLATE)  # the example file's own example
        template = st.text_area(
            "Prompt template",
            key="batch_template",
            height=90,
            placeholder="Write the prompt once, with a {column} where each row's value goes",
            help="Each {column} is replaced by that row's value. Write {{ or }} for a brace.",
        )
        st.caption("Placeholders you can use: " + " ".join(f"`{{{c}}}`" for c in columns))
        name_chips(character_names(), "batch_template")  # Sora rows: @Goldie, sent as Goldie's handle
        prompt_help("batch_template", MODELS.get(st.session_state.get("batch_model") or ""), key="batch", template=True)
        if not template.strip():  # an example offered, not shown grey as if it were filled in
            example = example_template(columns)
            st.button(
                f"Use an example: {example}",
                key="batch_use_example",
                icon=":material/lightbulb:",
                type="tertiary",
                on_click=fill_example,
                args=(example,),
            )
    board = model_board(conn)
    default_model = model_picker("video", board, key="batch")
    st.markdown(
        "**For rows that do not say** — a row's own `model` and "
        + ", ".join(f"`{name}`" for name in default_model.fields)
        + " columns win; a row of another model takes what it can of these, else that model's own defaults."
    )
    files = [f.name for f in default_model.fields.values() if f.kind in ("images", "audios")]
    chosen, _ = model_form(default_model, "batch", skip=files)  # the default model's fields, not Sora's
    defaults = {"model": default_model.id, **chosen}
    if source == "A template" and not template.strip():
        st.info("Write the template to see the prompts.", icon=":material/edit_note:")
        return None, template
    saved = CharacterNames(library.characters(ready_only=True), account=conn.account)  # a Sora row may name them: @Goldie
    try:
        down = {m: board.why_down(m) for m in MODELS if board.is_down(m)}
        brand = brand_kit().refs_by_name()  # image cells may name kit assets: @sneaker
        plan = plan_rows(frame, template=template, defaults=defaults, saved_characters=saved, down=down, brand=brand)
        return plan, template
    except BatchInputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None, template


def new_batch() -> None:
    frame, name = reading()
    if frame is None:
        return
    plan, template = planning(frame)
    if plan is None:
        return
    st.subheader("As they will be sent")
    if plan.rows:
        st.dataframe(
            plan.preview(10),
            hide_index=True,
            column_config={
                "row": st.column_config.NumberColumn("Row", width="small"),
                "model": st.column_config.TextColumn("Model", width="medium"),
                "prompt": st.column_config.TextColumn("Prompt", width="large"),
                "aspect_ratio": st.column_config.TextColumn("Aspect", width="small"),
                "duration": st.column_config.TextColumn("Seconds", width="small"),
                "size": st.column_config.TextColumn("Size", width="small"),
                "images": st.column_config.NumberColumn("Images", width="small"),
                "characters": st.column_config.NumberColumn("Clips", width="small"),
            },
        )
        if len(plan.rows) > 10:
            st.caption(f"The first 10 of {len(plan.rows):,} rows.")
    if plan.invalid:
        st.warning(
            f"{len(plan.invalid)} row{'s' if len(plan.invalid) != 1 else ''} will be skipped and not sent:",
            icon=":material/warning:",
        )
        st.dataframe(
            pd.DataFrame([{"row": r.row, "reason": r.reason} for r in plan.invalid]),
            hide_index=True,
            column_config={
                "row": st.column_config.NumberColumn("Row", width="small"),
                "reason": st.column_config.TextColumn("Why", width="large"),
            },
        )
    if not plan.rows:
        st.error("No row can be sent. Fix the rows above, or the template.", icon=":material/error:")
        return

    st.subheader("Before you start")
    credits = credits_for(conn)
    affordable = len(plan.rows) if credits is None else plan.affordable(credits)
    cap_col, speed_col = st.columns(2)
    limit = cap_col.number_input(
        "Make at most this many videos",
        min_value=1,
        max_value=len(plan.rows),
        value=max(1, min(len(plan.rows), affordable)),
        key="batch_limit",
        help="The first rows are made; the rest are left out.",
    )
    concurrency = speed_col.slider(
        SPEED,
        1,
        MAX_CONCURRENCY,
        DEFAULT_CONCURRENCY,
        key="batch_concurrency",
        help=SPEED_HELP,
    )
    cost = plan.cost(int(limit))
    if len(plan.models()) > 1:
        st.caption(
            "Models: " + " · ".join(f"{MODELS[m].name} × {n:,}" for m, n in plan.models().most_common())
        )
    with st.container(horizontal=True, gap="medium"):  # one row that wraps on a phone, not stacked columns
        st.metric("Videos", f"{int(limit):,}", width="content")
        st.metric("Cost", f"{format_credits(cost)} credits", help=credits_text(cost), width="content")
        st.metric("Credits left", format_credits(credits), width="content")
    too_dear = credits is not None and cost > credits
    if too_dear:
        st.error(
            f"This costs more than the {format_credits(credits)} credits left: lower the number of videos to "
            f"{affordable:,} or fewer, or add credits.",
            icon=":material/account_balance_wallet:",
        )
    name = st.text_input("Batch name", value=name or "Products", key="batch_name", max_chars=200)
    slot = st.empty()
    if st.button(
        f"Start · {int(limit):,} videos · {format_credits(cost)} credits",
        type="primary",
        icon=":material/play_arrow:",
        disabled=too_dear,
        key="batch_start",
    ):
        key = request_key(
            "batch", name, template, int(limit), [(r.row, r.params["prompt"]) for r in plan.rows]
        )
        try:
            batch = service.create(
                name,
                plan,
                limit=int(limit),
                concurrency=int(concurrency),
                credits=credits,
                template=template,
                request_key=key,
            )
        except (NotEnoughCredits, BatchInputError) as exc:
            slot.error(str(exc), icon=":material/error:")
            return
        balance_changed()
        st.toast(f"Batch started: {int(limit):,} videos", icon=":material/dataset:")
        show_batch(batch.id)
        st.rerun()


def batch_view(batch_id: int) -> None:
    batch = library.get_batch(batch_id)
    if batch is None:
        st.warning("That batch is gone.", icon=":material/search_off:")
        show_batch(None)
        return
    top, back = st.columns([4, 1], vertical_alignment="bottom")
    top.subheader(plain(batch.name))
    if back.button("New batch", icon=":material/add:", width="stretch"):
        show_batch(None)
        st.rerun()

    progress = service.progress(batch_id)
    active = progress.active or batch.state == BatchState.RUNNING  # the engine marks it done just after its last row

    @st.fragment(run_every=1.0 if active else None)
    @guarded
    def live() -> None:
        """The open batch from one reading of the store a second: the figures, what they mean,
        the buttons they allow, the table and the retry. Parts drawn outside this fragment kept the
        figures of the page's load: a Pause under "nothing left to pause", "Nothing to retry"
        under "Failed 1". The downloads stay outside (see ``downloads``) and name no count while
        the batch runs."""
        current = library.get_batch(batch_id)
        progress = service.progress(batch_id)
        eta = ""
        if (
            current.state == BatchState.RUNNING
            and progress.active
            and progress.eta_seconds
            and progress.eta_seconds >= 1
        ):
            eta = f" · about {clock(progress.eta_seconds)} left"
        st.progress(
            progress.fraction,
            text=f"{BatchState.label_of(current.state)} · {progress.done:,} of {progress.total:,} done{eta}",
        )
        with st.container(horizontal=True, gap="medium"):  # one row that wraps on a phone, not a screenful
            st.metric("Waiting", f"{progress.waiting:,}", width="content")
            st.metric("Being made", f"{progress.under_way:,}", width="content")
            st.metric("Ready", f"{progress.succeeded:,}", width="content")
            st.metric("Failed", f"{progress.not_made:,}", width="content")
        st.caption(
            f"Created {local_time(current.created_at)} · {credits_text(progress.spent)} spent"
            + (f" · {progress.cancelled:,} cancelled" if progress.cancelled else "")
        )
        because = current.paused_because
        if current.state == BatchState.PAUSED and because:
            st.warning(f"Paused: {because}", icon=":material/pause_circle:")
        elif current.state == BatchState.PAUSED:
            st.info(
                f"Paused: the {progress.waiting:,} rows not sent yet wait (nothing is charged for them); "
                f"the {progress.under_way:,} already sent finish and are kept.",
                icon=":material/pause_circle:",
            )
        elif current.state == BatchState.RUNNING and progress.waiting and current.account == conn.account and key_refused(conn):
            # the sidebar's reading: the engine holds the account a minute before it tries (and pauses)
            st.warning(
                "Nothing is being sent: the service refused this batch's API key. "
                + held_by_refused_key(f"The {progress.waiting:,} rows not sent yet", "cancel this batch",
                                      "start it again", "**Settings**"),  # fmt: skip
                icon=":material/key_off:",
            )
        elif current.state == BatchState.RUNNING and progress.active and not progress.waiting:
            st.caption(
                ":material/send: Every row has been sent, so there is nothing left to pause: the videos being "
                "made finish on their own."
            )
        controls(current, progress)
        if active and not progress.active and current.state != BatchState.RUNNING:
            catch_up()  # it just finished: the page stops re-reading
        results(current, progress)

    live()
    downloads(batch, progress, active)


def controls(batch, progress: BatchProgress) -> None:
    batch_id = batch.id
    pause, cancel, speed = st.columns([1, 1, 2], vertical_alignment="bottom")
    if batch.state == BatchState.RUNNING and progress.waiting:
        if pause.button("Pause", icon=":material/pause:", width="stretch", key="batch_pause"):
            service.pause(batch_id)
            st.rerun()
    elif batch.state == BatchState.PAUSED and pause.button(
        "Resume", icon=":material/play_arrow:", type="primary", width="stretch", key="batch_resume"
    ):
        service.resume(batch_id)
        st.rerun()
    if batch.state in (BatchState.RUNNING, BatchState.PAUSED) and progress.waiting:
        if st.session_state.get("batch_confirm_cancel") == batch_id:
            st.warning(
                f"Cancel the {progress.waiting:,} videos not sent yet? They are not charged. "
                "Videos already being made finish and are kept."
            )
            yes, no = st.columns(2)
            if yes.button("Yes, cancel them", type="primary", key="batch_cancel_yes"):
                service.cancel(batch_id)
                st.session_state.pop("batch_confirm_cancel", None)
                st.rerun()
            if no.button("Keep going", key="batch_cancel_no"):
                st.session_state.pop("batch_confirm_cancel", None)
                st.rerun()
        elif cancel.button("Cancel", icon=":material/cancel:", width="stretch", key="batch_cancel"):
            st.session_state["batch_confirm_cancel"] = batch_id
            st.rerun()
        speed.slider(
            SPEED,
            1,
            MAX_CONCURRENCY,
            int(batch.concurrency or DEFAULT_CONCURRENCY),
            key=f"batch_speed_{batch_id}",
            help=SPEED_HELP,
            on_change=lambda: service.set_concurrency(batch_id, st.session_state[f"batch_speed_{batch_id}"]),
        )


RESULTS_PAGE = 50


def videos(count: int) -> str:
    return f"{count:,} video" if count == 1 else f"{count:,} videos"


def results(batch, progress: BatchProgress) -> None:
    batch_id = batch.id
    st.subheader("Results")
    show, pager = st.columns([3, 1], vertical_alignment="bottom")
    chosen = show.segmented_control(
        "Show", keep_a_choice("batch_show", SHOWN_STATUSES, "All"), required=True, key="batch_show"
    )
    page = 1
    if progress.total > RESULTS_PAGE:
        page = pager.number_input("Page", min_value=1, value=1, step=1, key=f"batch_page_{batch_id}_{chosen}")

    def table() -> None:
        frame = service.results(batch_id, thumbnails=False)
        if frame.empty:
            return
        wanted = SHOWN_STATUSES.get(chosen)
        frame = frame if wanted is None else frame[frame["status"].isin(wanted)]
        pages = max(1, -(-len(frame) // RESULTS_PAGE))
        first = (min(int(page), pages) - 1) * RESULTS_PAGE
        shown = frame.iloc[first : first + RESULTS_PAGE].copy()
        thumbs = {g.id: g.thumb_path for g in library.get_many(shown["generation_id"].tolist())}
        shown["thumbnail"] = [files.data_url(thumbs.get(g)) or "" for g in shown["generation_id"]]
        shown["status"] = shown["status"].map(Status.label_of)
        own = [source_name(c) for c in (batch.settings.get("source") or {}).get("columns") or []]
        picked = st.dataframe(
            shown,
            hide_index=True,
            column_order=[
                "thumbnail",
                "row",
                "status",  # beside the row's number: on a phone the table's own columns push it off-screen
                *own,
                "prompt",
                *(["reason"] if shown["reason"].astype(bool).any() else []),  # no empty column of whys
                "attempts",
                "cost",
                "pid",
            ],
            column_config={
                "thumbnail": st.column_config.ImageColumn("Preview", width="small"),
                "row": st.column_config.NumberColumn("Row", width="small"),
                **{
                    c: st.column_config.TextColumn(c, width="medium" if len(own) < 3 else "small")
                    for c in own
                },
                "status": st.column_config.TextColumn("Status", width="small"),
                "prompt": st.column_config.TextColumn("Prompt", width="medium"),
                "reason": st.column_config.TextColumn("Why it failed", width="medium"),
                "attempts": st.column_config.NumberColumn("Tries", width="small"),
                "cost": st.column_config.NumberColumn("Credits", format="localized", width="small"),  # 1,600
                "pid": st.column_config.TextColumn("pid"),
            },
            on_select="rerun",
            selection_mode="single-row",
            key=f"batch_results_{batch_id}_{chosen}_{page}",
        )
        if len(frame) > RESULTS_PAGE or first:
            st.caption(
                f"Rows {first + 1:,}–{first + len(shown):,} of {len(frame):,} · page {page} of {pages}"
            )
        if not len(frame):
            st.caption("No rows here.")
        selected = picked.selection.rows if picked is not None else []
        if selected:
            result_row(shown.iloc[selected[0]], own)
        elif len(frame):
            st.caption(":material/touch_app: Pick a row to play its video and read what happened.")

    def result_row(line, own: list[str]) -> None:
        """One row of the results, whole: its video (or picture), its own cells, and why it failed."""
        generation = library.get(int(line["generation_id"]))
        if generation is None:
            return
        with st.container(border=True, key="batch_result_row"):
            named = " · ".join(str(line[c]) for c in own if line[c])
            st.markdown(f"**Row {int(line['row'])}**" + (f" · {plain(named)}" if named else ""))
            picture, words = st.columns([3, 2], gap="medium")
            with picture:
                if generation.status == Status.SUCCEEDED and generation.makes == "image":
                    kept = files.present(generation.files)
                    if kept:
                        st.image([files.source(f["path"]) for f in kept], width=240)
                else:
                    video_player(generation, files)
            with words:
                if line["reason"]:
                    failed = generation.status == Status.FAILED
                    (st.error if failed else st.warning)(
                        plain(str(line["reason"])), icon=":material/block:" if failed else ":material/help:"
                    )
                st.caption(plain(generation.prompt))
                if generation.pid:
                    st.code(generation.pid, language=None)

    table()
    skipped = batch.settings.get("skipped") or []
    if skipped:
        one = len(skipped) == 1
        with st.expander(
            f"{len(skipped)} row{'' if one else 's'} of the table {'was' if one else 'were'} skipped and never sent"
        ):
            st.dataframe(pd.DataFrame(skipped), hide_index=True)

    moderated = progress.moderated
    again = 0
    if moderated:
        again = st.number_input(
            f"Also retry moderation refusals ({moderated}), up to this many times a row",
            min_value=0,
            max_value=MAX_MODERATION_RETRIES,
            value=0,
            key="batch_moderation_retries",
            help="Off by default: a prompt refused once is usually refused again, and each try is sent anew.",
        )
    count = len(service.retryable(batch_id, moderation_retries=int(again)))
    if count:
        kept = f"; {REFUSALS_KEPT}" if again and not app_config().refunds_refusals else ""
        st.caption(
            f"Sending them again costs {credits_text(service.retry_cost(batch_id, moderation_retries=int(again)))}{kept}."
        )
    if not count and progress.not_made:  # "Failed 1" above a bare "Nothing to retry" reads as a contradiction
        why = []
        if moderated:
            why.append("A refused prompt is sent again only if you ask for it above.")
        if progress.unknown:
            why.append(
                "A row not known to have reached the service is never sent again by itself: it may "
                "have been made and charged."
            )
        st.caption(":material/info: " + " ".join(why or ["Nothing to retry."]))
    elif st.button(
        f"Retry {count} failed" if count else "Nothing to retry",
        icon=":material/replay:",
        disabled=not count,
        key="batch_retry",
    ):
        added = service.retry_failed(batch_id, moderation_retries=int(again))
        st.toast(f"Sending {added} rows again", icon=":material/replay:")
        st.rerun()


def downloads(batch, progress: BatchProgress, running: bool) -> None:
    """The zip, the manifest and the Library, drawn outside the live fragment.

    A download whose file is made on the click (a deferred download) is kept by Streamlit only until
    two more runs of the page end: with the figures redrawn every second, a slow browser asked for
    it after it was gone, and the download failed ("canceled"). So while the batch runs, and always
    for a bucket, a file is made on a first click and offered, with the time it was made, by the
    page's own run, which keeps it while the page shows it. So it is for a finished batch while
    anything else is being made: the sidebar then redraws itself every 3 s. Otherwise a finished
    batch's downloads are made on the one click."""
    batch_id = batch.id
    ready = progress.succeeded
    made: dict = st.session_state.setdefault("batch_made", {})
    kept = running or files.gives_links or redraws_itself(conn, library)  # a file made on the click would be dropped
    with st.container(horizontal=True, vertical_alignment="center"):  # one row that wraps on a phone
        if kept:
            zip_made = made.get((batch_id, "zip"))
            current = zip_made is not None and (running or zip_made["ready"] == ready)
            if current:
                label = f"Download zip ({videos(zip_made['ready'])} + manifest.csv{as_of(zip_made, running)})"
                if files.gives_links:  # the browser fetches it from the bucket
                    st.link_button(label, files.url(zip_made["path"]), icon=":material/folder_zip:")
                else:
                    st.download_button(
                        label,
                        files.read(zip_made["path"]),
                        file_name=zip_name(batch.name, batch_id),
                        mime="application/zip",
                        icon=":material/folder_zip:",
                        on_click="ignore",
                        key="batch_zip_download",
                    )
            if not current or running:
                st.button(
                    "Update the zip with the videos ready now"
                    if current
                    else f"Make the zip ({'the videos ready now' if running else videos(ready)} + manifest.csv)",
                    icon=":material/folder_zip:",
                    type="tertiary" if current else "secondary",
                    disabled=not (ready or running),
                    on_click=make_zip,
                    args=(batch_id,),
                    key="batch_zip",
                )
        else:  # a folder, and a finished batch: the zip is made when the button is pressed
            st.download_button(
                f"Download zip ({videos(ready)} + manifest.csv)",
                lambda: files.read(service.export_zip(batch_id).path),
                file_name=zip_name(batch.name, batch_id),
                mime="application/zip",
                icon=":material/folder_zip:",
                disabled=not ready,
                on_click="ignore",
                key="batch_zip",
            )
        if kept:
            manifest_made = made.get((batch_id, "manifest"))
            if manifest_made is not None:
                manifest_button(batch_id, f"CSV{as_of(manifest_made, running)}", manifest_made["csv"], "batch_manifest_download")
            if manifest_made is None or running:  # a finished batch's manifest does not change
                st.button(
                    "Update the manifest" if manifest_made is not None
                    else "Make the manifest (CSV) of the rows now" if running else "Make the manifest (CSV)",
                    icon=":material/table:",
                    type="tertiary",
                    on_click=make_manifest,
                    args=(batch_id,),
                    key="batch_manifest",
                )
        else:  # made when clicked
            manifest_button(batch_id, "CSV", lambda: service.manifest(batch_id).to_csv(index=False), "batch_manifest")
        if st.button("See them in the Library", icon=":material/video_library:", type="tertiary"):
            st.session_state["library_batch"] = batch_id
            st.switch_page("app_pages/library.py")


def manifest_button(batch_id: int, what: str, data, key: str) -> None:
    """"Manifest only (CSV…)": ``data`` is the CSV, or makes it on the click."""
    st.download_button(
        f"Manifest only ({what})",
        data,
        file_name=manifest_name(batch_id),
        mime="text/csv",
        icon=":material/table:",
        type="tertiary",
        on_click="ignore",
        key=key,
    )


def make_zip(batch_id: int) -> None:
    """Put the videos ready now in the batch's zip, before the run that offers it (a callback: the
    click's run draws the download, with no second run)."""
    with st.spinner("Putting the videos in one zip…"):
        export = service.export_zip(batch_id)
    made = st.session_state.setdefault("batch_made", {})
    made[(batch_id, "zip")] = {"path": export.path, "ready": export.videos, "at": datetime.now(UTC)}


def make_manifest(batch_id: int) -> None:
    made = st.session_state.setdefault("batch_made", {})
    made[(batch_id, "manifest")] = {"csv": service.manifest(batch_id).to_csv(index=False), "at": datetime.now(UTC)}


def as_of(snapshot: dict, running: bool) -> str:
    """", as of 14:02:11" for a file made while the batch ran: what it holds is what was ready then."""
    return f", as of {local_time(snapshot['at'], '%H:%M:%S')}" if running else ""


def earlier_batches() -> None:
    batches = library.batches(50)
    if not batches:
        return
    st.divider()
    st.subheader("Earlier batches")
    shown = batches[:10]
    tallies = library.batch_tallies([b.id for b in shown])
    for batch in shown:
        tally = tally_of(*tallies[batch.id], total=int(batch.settings.get("rows", 0)))
        name, facts, action = st.columns([3, 4, 1], vertical_alignment="center")
        name.markdown(f"**{batch.name}**  \n{batch.created_at:%d %b %Y, %H:%M}")
        facts.caption(
            f"{tally.total:,} videos · {tally.ready:,} ready · {tally.failed:,} failed · "
            f"{format_credits(tally.spent)} credits · {BatchState.label_of(batch.state).lower()}"
        )
        if action.button("Open", key=f"batch_open_{batch.id}", width="stretch"):
            show_batch(batch.id)
            st.rerun()


st.title("Batch")
st.caption(
    "One video per product: give a table, turn each row into a prompt, and let them be made in the "
    "background. Leaving the page, or even restarting the app, does not stop or repeat a batch."
)
wanted = st.query_params.get("batch") or st.session_state.get(SHOWN_BATCH)
try:
    shown = int(wanted) if wanted else None
except ValueError:
    shown = None
if shown is not None:
    batch_view(shown)
else:
    new_batch()
    earlier_batches()
