"""Batch: a CSV of products -> many videos, sent in the background, with results and a zip."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.brand_picker import brand_kit
from components.character_names import character_names, name_chips
from components.guard import guarded
from components.model_picker import model_picker
from components.prompt_help import prompt_help
from components.resources import (
    app_config,
    batch_service,
    connection,
    credits_for,
    credits_left,
    media,
    model_board,
    store,
)
from components.session import request_key
from components.spec_form import model_form
from components.text import plain
from components.video import clock, local_time, video_player
from grsai_api import MODELS, is_refusal
from studio.batch import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    MAX_MODERATION_RETRIES,
    BatchInputError,
    BatchProgress,
    NotEnoughCredits,
    Plan,
    example_template,
    plan_rows,
    read_table,
    source_name,
)
from studio.characters import CharacterNames
from studio.costs import credits_text, format_credits
from studio.library import STATUS_LABELS
from studio.messages import REFUSALS_KEPT

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
        ["Upload a CSV", "Paste rows"],
        default="Upload a CSV",
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
            ["The prompt column", "A template"],
            default="The prompt column",
            required=True,
            key="batch_source",
        )
    else:
        source = "A template"
    template = ""
    if source == "A template":
        st.session_state.setdefault(
            "batch_template", DEFAULT_TEMPLATE if {"colour", "product", "slogan"} <= set(columns) else ""
        )
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
                on_click=lambda: st.session_state.update(batch_template=example),
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
        "Videos made at the same time",
        1,
        MAX_CONCURRENCY,
        DEFAULT_CONCURRENCY,
        key="batch_concurrency",
        help="More at once finishes the batch sooner. The service takes about 500 a minute; when it "
        "asks to wait, the batch slows down by itself.",
    )
    cost = plan.cost(int(limit))
    if len(plan.models()) > 1:
        st.caption(
            "Models: " + " · ".join(f"{MODELS[m].name} × {n:,}" for m, n in plan.models().most_common())
        )
    count, total, left = st.columns(3)
    count.metric("Videos", f"{int(limit):,}")
    total.metric("Cost", f"{format_credits(cost)} credits", help=credits_text(cost))
    left.metric("Credits left", format_credits(credits))
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
        credits_left.clear()
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
    active = progress.active or batch.state == "running"  # the engine marks it done just after its last row

    @st.fragment(run_every=1.0 if active else None)
    @guarded
    def live() -> None:
        current = library.get_batch(batch_id)
        progress = service.progress(batch_id)
        state = {"running": "Running", "paused": "Paused", "cancelled": "Cancelled", "done": "Finished"}
        eta = ""
        if (
            current.state == "running"
            and progress.active
            and progress.eta_seconds
            and progress.eta_seconds >= 1
        ):
            eta = f" · about {clock(progress.eta_seconds)} left"
        st.progress(
            progress.fraction,
            text=f"{state.get(current.state, current.state)} · {progress.done:,} of {progress.total:,} done{eta}",
        )
        waiting, making, ready, failed = st.columns(4)
        waiting.metric("Waiting", f"{progress.queued + progress.sending:,}")
        making.metric("Being made", f"{progress.running:,}")
        ready.metric("Ready", f"{progress.succeeded:,}")
        failed.metric("Failed", f"{progress.failed + progress.unknown:,}")
        st.caption(
            f"Created {local_time(current.created_at)} · {credits_text(progress.spent)} spent"
            + (f" · {progress.cancelled:,} cancelled" if progress.cancelled else "")
        )
        because = current.paused_because
        if current.state == "paused" and because:
            st.warning(f"Paused: {because}", icon=":material/pause_circle:")
        elif current.state == "paused":
            st.info(
                f"Paused: the {progress.queued:,} rows not sent yet wait (nothing is charged for them); "
                f"the {progress.running + progress.sending:,} already sent finish and are kept.",
                icon=":material/pause_circle:",
            )
        elif current.state == "running" and progress.active and not progress.queued:
            st.caption(
                ":material/send: Every row has been sent, so there is nothing left to pause: the videos being "
                "made finish on their own."
            )
        if active and not progress.active and current.state != "running":
            st.rerun()  # it just finished: draw the results and the zip

    live()
    controls(batch, progress)
    results(batch, progress)


def controls(batch, progress: BatchProgress) -> None:
    batch_id = batch.id
    pause, cancel, speed = st.columns([1, 1, 2], vertical_alignment="bottom")
    if batch.state == "running" and progress.queued:
        if pause.button("Pause", icon=":material/pause:", width="stretch", key="batch_pause"):
            service.pause(batch_id)
            st.rerun()
    elif batch.state == "paused" and pause.button(
        "Resume", icon=":material/play_arrow:", type="primary", width="stretch", key="batch_resume"
    ):
        service.resume(batch_id)
        st.rerun()
    if batch.state in ("running", "paused") and progress.queued:
        if st.session_state.get("batch_confirm_cancel") == batch_id:
            st.warning(
                f"Cancel the {progress.queued:,} videos not sent yet? They are not charged. "
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
            "Videos made at the same time",
            1,
            MAX_CONCURRENCY,
            int(batch.concurrency or DEFAULT_CONCURRENCY),
            key=f"batch_speed_{batch_id}",
            on_change=lambda: service.set_concurrency(batch_id, st.session_state[f"batch_speed_{batch_id}"]),
        )


RESULTS_PAGE = 50


def results(batch, progress: BatchProgress) -> None:
    batch_id = batch.id
    st.subheader("Results")
    show, pager = st.columns([3, 1], vertical_alignment="bottom")
    chosen = show.segmented_control(
        "Show", ["All", "Ready", "Failed", "Not done"], default="All", required=True, key="batch_show"
    )
    page = 1
    if progress.total > RESULTS_PAGE:
        page = pager.number_input("Page", min_value=1, value=1, step=1, key=f"batch_page_{batch_id}_{chosen}")

    @st.fragment(run_every=2.0 if progress.active else None)
    @guarded
    def table() -> None:
        frame = service.results(batch_id, thumbnails=False)
        if frame.empty:
            return
        wanted = {
            "Ready": frame["status"] == "succeeded",
            "Failed": frame["status"].isin(["failed", "unknown"]),
            "Not done": frame["status"].isin(["queued", "submitting", "running", "saving"]),
        }.get(chosen)
        frame = frame if wanted is None else frame[wanted]
        pages = max(1, -(-len(frame) // RESULTS_PAGE))
        first = (min(int(page), pages) - 1) * RESULTS_PAGE
        shown = frame.iloc[first : first + RESULTS_PAGE].copy()
        thumbs = {g.id: g.thumb_path for g in library.get_many(shown["generation_id"].tolist())}
        shown["thumbnail"] = [files.data_url(thumbs.get(g)) or "" for g in shown["generation_id"]]
        shown["status"] = shown["status"].map(lambda s: STATUS_LABELS.get(s, s))
        own = [source_name(c) for c in (batch.settings.get("source") or {}).get("columns") or []]
        picked = st.dataframe(
            shown,
            hide_index=True,
            column_order=[
                "thumbnail",
                "row",
                *own,
                "status",
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
                "cost": st.column_config.NumberColumn("Credits", format="%d", width="small"),
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
                if generation.status == "succeeded" and generation.makes == "image":
                    kept = files.present(generation.files)
                    if kept:
                        st.image([files.source(f["path"]) for f in kept], width=240)
                else:
                    video_player(generation, files)
            with words:
                if line["reason"]:
                    failed = generation.status == "failed"
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

    retry, download = st.columns(2, gap="large")
    with retry:
        moderated = sum(n for reason, n in progress.failures.items() if is_refusal(reason))
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
        if st.button(
            f"Retry {count} failed" if count else "Nothing to retry",
            icon=":material/replay:",
            disabled=not count,
            key="batch_retry",
        ):
            added = service.retry_failed(batch_id, moderation_retries=int(again))
            st.toast(f"Sending {added} rows again", icon=":material/replay:")
            st.rerun()
    with download:
        ready = progress.succeeded
        zip_name = f"{batch.name.replace(' ', '-').lower()[:40] or 'batch'}-{batch_id}.zip"
        if not files.gives_links:  # a folder: the zip is made when the button is pressed
            st.download_button(
                f"Download zip ({ready} videos + manifest.csv)",
                lambda: files.read(service.export_zip(batch_id)),
                file_name=zip_name,
                mime="application/zip",
                icon=":material/folder_zip:",
                disabled=not ready,
                on_click="ignore",
                key="batch_zip",
            )
        else:  # a bucket: the zip is made there once, and the browser fetches it from the bucket
            made = st.session_state.get("batch_zip_made", {}).get(batch_id)
            if made is not None and made[1] == ready:
                st.link_button(
                    f"Download zip ({ready} videos + manifest.csv)",
                    files.url(made[0]),
                    icon=":material/folder_zip:",
                )
            elif st.button(
                f"Make the zip ({ready} videos + manifest.csv)",
                icon=":material/folder_zip:",
                disabled=not ready,
                key="batch_zip",
            ):
                with st.spinner("Putting the videos in one zip…"):
                    relative = service.export_zip(batch_id)
                st.session_state.setdefault("batch_zip_made", {})[batch_id] = (relative, ready)
                st.rerun()
        st.download_button(
            "Manifest only (CSV)",
            lambda: service.manifest(batch_id).to_csv(index=False),  # made when clicked
            file_name=f"batch-{batch_id}-manifest.csv",
            mime="text/csv",
            icon=":material/table:",
            type="tertiary",
            on_click="ignore",
            key="batch_manifest",
        )
        if st.button("See them in the Library", icon=":material/video_library:", type="tertiary"):
            st.session_state["library_batch"] = batch_id
            st.switch_page("app_pages/library.py")


def earlier_batches() -> None:
    batches = library.batches(50)
    if not batches:
        return
    st.divider()
    st.subheader("Earlier batches")
    shown = batches[:10]
    tallies = library.batch_tallies([b.id for b in shown])
    for batch in shown:
        # a row's newest attempt is the only one that can be ready, waiting or cancelled
        statuses, spent = tallies[batch.id]
        total = int(batch.settings.get("rows", 0))
        ready = statuses["succeeded"]
        not_failed = ("queued", "submitting", "running", "saving", "cancelled")
        failed = total - ready - sum(statuses[s] for s in not_failed)
        name, facts, action = st.columns([3, 4, 1], vertical_alignment="center")
        name.markdown(f"**{batch.name}**  \n{batch.created_at:%d %b %Y, %H:%M}")
        facts.caption(
            f"{total:,} videos · {ready:,} ready · {failed:,} failed · {format_credits(spent)} credits · {batch.state}"
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
