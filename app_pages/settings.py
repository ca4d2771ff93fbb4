"""Settings: which service to use, the key, a connection test, each model's status and price, and,
folded under Advanced, where things are stored and the sandbox's demo knobs (including which models
are down)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.resources import app_config, connection, credits_left, model_board, refresh_models, store
from components.text import plain
from grsai_api import MODELS, GrsaiError
from grsai_api import _catalogue as catalogue
from studio import costs, prompt_help
from studio.connection import CHOICES, default_choice, valid_url
from studio.costs import format_credits, format_yuan
from studio.sandbox_host import sandbox_knobs, set_sandbox_knobs

config = app_config()
# Widget state is dropped when a page is left, so the choices live on in plain session keys.
PERSISTED = {
    "settings_connection": "conn_choice",
    "settings_custom_url": "conn_custom_url",
    "settings_api_key": "conn_api_key",
}
st.session_state.setdefault("conn_choice", default_choice(config))
for widget_key, kept_key in PERSISTED.items():
    if widget_key not in st.session_state and st.session_state.get(kept_key) is not None:
        st.session_state[widget_key] = st.session_state[kept_key]


def keep(widget_key: str) -> None:
    st.session_state[PERSISTED[widget_key]] = st.session_state[widget_key]
    credits_left.clear()


st.title("Settings")

st.subheader("Connection")
choice = st.radio(
    "Service",
    list(CHOICES),
    format_func=CHOICES.get,
    key="settings_connection",
    on_change=keep,
    args=("settings_connection",),
    horizontal=True,
)
if choice == "custom":
    url = st.text_input(
        "Service URL",
        key="settings_custom_url",
        placeholder="https://…",
        on_change=keep,
        args=("settings_custom_url",),
        help="Any server that speaks GrsAI's protocol, for example a sandbox on another machine.",
    )
    if url and not valid_url(url):
        st.error(
            "This is not a web address: it should start with http:// or https://.", icon=":material/error:"
        )

if choice != "sandbox":
    if config.key_source:
        st.success(f"An API key is set in {config.key_source}.", icon=":material/key:")
    st.text_input(
        "API key for this session" if config.key_source else "API key",
        type="password",
        key="settings_api_key",
        on_change=keep,
        args=("settings_api_key",),
        placeholder="sk-…" if not config.key_source else "Leave empty to use the configured key",
        help="Kept in this browser session only: never saved, logged or shown. To keep a key, put "
        "GRSAI_API_KEY in .streamlit/secrets.toml.",
    )

current = connection()
if current.note:
    st.warning(current.note, icon=":material/info:")
else:
    st.caption(f"In use: **{current.label}**" + ("" if current.is_sandbox else f" · {current.base_url}"))

if st.button("Test connection", icon=":material/network_check:"):
    try:
        with current.client(max_retries=0, timeout=8.0) as client:
            credits = client.credits()
    except GrsaiError as exc:
        st.error(f"{current.label} did not answer as expected: {exc.message}", icon=":material/cloud_off:")
    else:
        credits_left.clear()
        refresh_models()
        checked = model_board(current)
        up, unknown = checked.said_up(), sum(checked.state(m) == "unknown" for m in MODELS)
        not_said = f" ({unknown} did not say)" if unknown else ""
        st.success(
            f"Connected to {current.label}: {format_credits(credits)} credits left; "
            f"{up} of {len(MODELS)} models up{not_said}.",
            icon=":material/cloud_done:",
        )

st.subheader("Models")
board = model_board(current)
left, right = st.columns([4, 1], vertical_alignment="bottom")
left.caption("What the service says about each model for this key (asked every 15 seconds at most).")
right.button("Check again", icon=":material/refresh:", on_click=refresh_models, key="settings_models_recheck")
status_rows = []
for model in MODELS.values():
    said = board.status(model.id)
    words = {"up": "Up", "down": "Down", "unknown": "Unknown (the service did not say)"}[board.state(model.id)]
    status_rows.append(
        {"Model": model.name, "Status": words, "The service's words": (said.message or "") if said else ""}
    )
st.dataframe(pd.DataFrame(status_rows), hide_index=True, width="stretch")
added = [plain(path, 120) for path in catalogue.FILES]
st.caption(
    f"{len(MODELS)} models: GrsAI's catalogue as of this release"
    + (f", with this deployment's own from {', '.join(added)}" if added else "")
    + ". Add or change a model with no release: put a `models.toml` in the data folder (or name one in "
    "GRSAI_MODELS_FILE), in the format of the README's “Models as data”."
)
for problem in catalogue.PROBLEMS:
    st.error(
        f"A models file could not be used, so the studio runs on the models above without it: {plain(problem, 600)}",
        icon=":material/error:",
    )

st.subheader("Prompt help")
chosen_chat = prompt_help.chosen_chat_model(prompt_help.saved_chat_model(store()), board.up())
if chosen_chat is None:
    st.caption("The catalogue has no chat model, so prompt help is off.")
else:
    chat_ids = [m.id for m in prompt_help.chat_models()]
    if st.session_state.get("settings_chat_model") not in chat_ids:
        st.session_state["settings_chat_model"] = chosen_chat.id

    def save_chat_choice() -> None:
        if st.session_state.get("settings_chat_model") in chat_ids:
            prompt_help.save_chat_model(store(), st.session_state["settings_chat_model"])

    # The choice is labelled by name alone: a label that changed with the model's state (up, unknown)
    # made the widget a new one, whose value came back as the old label, not a model.
    picked = st.selectbox(
        "Chat model for prompt help",
        chat_ids,
        key="settings_chat_model",
        format_func=lambda m: MODELS[m].name,
        on_change=save_chat_choice,
        help="Improve, Translate to English, 3 ideas, Describe this picture, a softer wording after a refusal "
        "and a storyboard from a brief ask it, only on a click. Its price a call is in the table below.",
    )
    st.caption(f"{MODELS[picked].name}: {board.state(picked)} · {costs.credits_text(prompt_help.help_price(picked))} a call")
    if board.is_down(st.session_state["settings_chat_model"]):
        st.caption(f":material/cloud_off: {board.why_down(st.session_state['settings_chat_model'])}: the help buttons are off.")

st.subheader("Prices")
library = store()
table = costs.load(library, force=True)
st.caption(
    f"What each call costs, in the service's credits ({format_credits(costs.credits_per_yuan())} to ¥1, "
    "below). GrsAI's published prices to start with; change any of them for the whole deployment when "
    "the service's prices move."
)
names = {m.id: m.name for m in MODELS.values()} | {costs.CHARACTER: "Sora 2 character (Cameo)"}
names = {k: names.get(k, k) for k in costs.DEFAULT_PRICES}
frame = pd.DataFrame(
    [{"key": k, "What": names[k], "Credits": int(table[k]), "≈ ¥": format_yuan(table[k])} for k in costs.DEFAULT_PRICES]
)
edited = st.data_editor(
    frame,
    hide_index=True,
    key="settings_prices",
    disabled=["What", "≈ ¥"],
    column_order=["What", "Credits", "≈ ¥"],
    column_config={"Credits": st.column_config.NumberColumn("Credits", min_value=0, max_value=10_000_000, step=1, format="%d")},
    width="stretch",
)
save_col, reset_col = st.columns(2)
if save_col.button("Save prices", icon=":material/save:", type="primary"):
    wanted = {row.key: row.Credits for row in edited.itertuples() if pd.notna(row.Credits)}
    costs.save(library, {k: int(v) for k, v in wanted.items()})
    st.toast("Prices saved for everyone on this deployment", icon=":material/payments:")
    st.rerun()
if reset_col.button("Reset to GrsAI's prices", icon=":material/restart_alt:"):
    costs.save(library, dict(costs.DEFAULT_PRICES))
    st.session_state.pop("settings_prices", None)
    st.rerun()

st.session_state.setdefault("settings_credits_per_yuan", format_credits(costs.credits_per_yuan()))
rate_text = st.text_input(
    "Credits a ¥ buys",
    key="settings_credits_per_yuan",
    help="From the credit pack your team bought: its credits ÷ the yuan paid. GrsAI's packs run from "
    "10,000 a ¥ (¥10 for 100,000 credits) to 20,000 a ¥ (¥999 for 20,000,000). Every ¥ the studio "
    "shows beside credits uses it, for the whole deployment.",
)
try:
    rate = costs.parse_rate(rate_text)
except ValueError as exc:
    rate = None
    st.error(str(exc), icon=":material/error:")
if st.button("Save rate", icon=":material/currency_yuan:", disabled=rate is None or rate == costs.credits_per_yuan()):
    costs.save_rate(library, rate)
    st.session_state.pop("settings_prices", None)
    st.toast(f"¥1 = {format_credits(rate)} credits for everyone on this deployment", icon=":material/payments:")
    st.rerun()
if config.refunds_refusals:
    st.caption(
        ":material/undo: The service refunds refusals (GRSAI_REFUNDS_REFUSALS is on): a task refused by "
        "content moderation is counted as nothing spent."
    )
else:
    st.caption(
        ":material/receipt_long: The service keeps what a refusal was charged, as GrsAI does: a task refused by "
        "content moderation is counted at its price. Errors are refunded. If your service refunds "
        "refusals, set GRSAI_REFUNDS_REFUSALS."
    )

# What only whoever runs the deployment needs (where things are stored, the sandbox's failures)
# is folded away: a marketer comes here for the key.
with st.expander("Advanced", icon=":material/tune:"):
    if current.is_sandbox:
        st.markdown("**Sandbox demo knobs**")
        st.caption("Shape the built-in sandbox for a demo: how long videos take, and how often they fail.")
        try:
            knobs = sandbox_knobs(current.base_url)
        except ValueError as exc:  # the rest of Settings (storage) must still be drawn
            knobs = None
            st.warning(f"The sandbox's demo knobs cannot be read right now: {plain(str(exc), 300)}",
                       icon=":material/science:")  # fmt: skip
    if current.is_sandbox and knobs is not None:
        with st.form("settings_sandbox"):
            left, right = st.columns(2)
            task_seconds = left.slider("Seconds to make a video", 1, 120, int(knobs["task_seconds"]))
            latency = right.slider("Added latency per request (ms)", 0, 2000, int(knobs["latency_ms"]), step=50)
            moderation = left.slider(
                "Share refused by output moderation", 0.0, 1.0, float(knobs["output_moderation_rate"]), step=0.05
            )
            errors = right.slider(
                "Share that fail with an error", 0.0, 1.0, float(knobs["error_rate"]), step=0.05
            )
            rate_limited = left.slider(
                "Share of requests answered 429", 0.0, 1.0, float(knobs["rate_429"]), step=0.05
            )
            blocklist = right.text_input(
                "Words refused by input moderation (comma-separated)", ", ".join(knobs["blocklist"])
            )
            down = st.multiselect(
                "Models reported down (to show what people see when a model is out)",
                list(MODELS),
                default=[m for m, state in knobs.get("models", {}).items() if not state.get("available", True)],
                format_func=lambda m: MODELS[m].name,
            )
            if st.form_submit_button("Apply", type="primary"):
                set_sandbox_knobs(
                    current.base_url,
                    {
                        "task_seconds": task_seconds,
                        "latency_ms": latency,
                        "output_moderation_rate": moderation,
                        "error_rate": errors,
                        "rate_429": rate_limited,
                        "blocklist": blocklist,
                        "models": {m: {"available": m not in down} for m in MODELS},
                    },
                )
                refresh_models()
                st.toast("Sandbox updated", icon=":material/science:")

    st.markdown("**Storage**")
    totals = library.totals()
    url = library.db_engine.url.render_as_string(hide_password=True)
    place = f"Media bucket: `{config.media_url}`" if config.media_url else f"Media folder: `{config.media_dir}`"
    count = totals["count"]
    st.markdown(f"- Database: `{url}`\n- {place}\n- {count:,} generation{'' if count == 1 else 's'} stored")
