"""Insights: credits, output, refusals and waiting times, by model and day, with the Library's
filters. Each chart has its reading underneath, in one line."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from components.resources import connection, credits_for, store
from components.video import browser_zone, clock
from grsai_api import MODELS
from studio.costs import format_credits
from studio.db import KINDS, LibraryFilter
from studio.insights import PROMPT_HELP, Insights, made_words
from studio.library import KIND_LABELS

conn, library = connection(), store()

st.title("Insights")
st.caption("What was made, what it cost, what was refused and how long it took: by model and by day.")

filters = st.columns(3)
dates = filters[0].date_input("Made between", value=(), key="insights_dates", format="YYYY-MM-DD")
models = filters[1].multiselect(
    "Model", list(MODELS), key="insights_model", format_func=lambda m: MODELS[m].name, placeholder="Any"
)
kinds = filters[2].multiselect(
    "Made from", KINDS, key="insights_kind", format_func=KIND_LABELS.get, placeholder="Anything"
)
date_from, date_to = (tuple(dates) + (None, None))[:2] if isinstance(dates, tuple | list) else (dates, dates)
zone = browser_zone()
wanted = LibraryFilter(
    models=tuple(models), kinds=tuple(kinds), date_from=date_from, date_to=date_to or date_from, tz=zone
)
seen = Insights.load(library, wanted)
if seen.empty:
    st.info("Nothing matches yet: what is made on Generate, Images and Batch shows here.", icon=":material/insights:")
    st.stop()

daily = seen.daily()
days_shown = sorted(daily["day"].unique())
DAY = alt.X(  # one band a day, in order; a few days stay slim bars, not walls
    "shown:O",
    title=None,
    sort=[f"{d:%d %b}" for d in days_shown],
    axis=alt.Axis(labelAngle=0),
    scale=alt.Scale(paddingInner=0.3, paddingOuter=min(1.0, max(0.1, 1.2 - 0.2 * len(days_shown)))),
)
daily["shown"] = [f"{d:%d %b}" for d in daily["day"]]
left, right = st.columns(2, gap="large")
with left:
    st.subheader("Credits spent per day")
    st.altair_chart(
        alt.Chart(daily)
        .mark_bar()
        .encode(
            x=DAY,
            y=alt.Y("sum(credits):Q", title="Credits"),
            color=alt.Color("model:N", title="Model"),
            tooltip=[alt.Tooltip("shown:O", title="Day"), "model:N", alt.Tooltip("sum(credits):Q", format=",")],
        ),
        width="stretch",
    )
    by_model = daily.groupby("model")["credits"].sum().sort_values(ascending=False)
    total = int(by_model.sum())
    top = by_model.index[0] if total else None
    days = daily["day"].nunique()
    st.caption(
        f"{format_credits(total)} credits over {days} day{'' if days == 1 else 's'}"
        + (f"; most on {top} ({by_model.iloc[0] / total:.0%})." if top else ".")
    )
with right:
    st.subheader("Made per day")
    made = daily[daily["makes"] != PROMPT_HELP].groupby(["day", "shown", "makes"], as_index=False)["made"].sum()
    st.altair_chart(
        alt.Chart(made)
        .mark_bar()
        .encode(
            x=DAY,
            y=alt.Y("made:Q", title="Finished"),
            color=alt.Color("makes:N", title=None),
            xOffset="makes:N",
            tooltip=[alt.Tooltip("shown:O", title="Day"), "makes:N", "made:Q"],
        ),
        width="stretch",
    )
    st.caption(made_words(made))

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Made or refused, by model")
    success = seen.success()
    if success.empty:
        st.caption("Nothing has finished yet.")
    else:
        st.altair_chart(
            alt.Chart(success)
            .mark_bar()
            .encode(
                y=alt.Y("model:N", title=None),
                x=alt.X("rate:Q", title="Share of finished work", axis=alt.Axis(format="%")),
                color=alt.Color("outcome:N", title=None),
                tooltip=["model:N", "outcome:N", "count:Q", alt.Tooltip("rate:Q", format=".0%")],
            ),
            width="stretch",
        )
        made_rate = success[success["outcome"] == "Made"].set_index("model")["rate"]
        worst = made_rate.idxmin() if len(made_rate) else None
        refusals = success[success["outcome"] != "Made"].groupby("outcome")["count"].sum()
        st.caption(
            "; ".join(f"{model}: {rate:.0%} made" for model, rate in made_rate.sort_values().items())
            + (f". Most failures: {refusals.idxmax().lower()} ({int(refusals.max()):,})." if len(refusals) else ".")
            if worst
            else "Every finished request failed."
        )
with right:
    st.subheader("Time from sent to finished")
    spread = seen.time_spread()
    if spread.empty:
        st.caption("No finished generation has both times yet.")
    else:
        spread["which"] = spread["model"] + " · " + spread["size"].fillna("")
        base = alt.Chart(spread).encode(y=alt.Y("which:N", title=None))
        st.altair_chart(
            base.mark_rule(strokeWidth=6, opacity=0.5).encode(
                x=alt.X("q1:Q", title="Seconds (the middle half, and the median)"), x2="q3:Q"
            )
            + base.mark_point(filled=True, size=80).encode(
                x="median:Q", tooltip=["which:N", "median:Q", "q1:Q", "q3:Q", "made:Q"]
            ),
            width="stretch",
        )
        st.caption(
            "; ".join(
                f"{row.which.strip(' ·')}: median {clock(row.median)} ({clock(row.q1)}–{clock(row.q3)})"
                for row in spread.sort_values("median").itertuples()
            )
            + "."
        )

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Credits left over time")
    now_left = credits_for(conn)
    balance = seen.credits_left(now_left)
    if balance.empty:
        st.caption("The service did not say how many credits are left, so the line cannot be drawn.")
    else:
        st.altair_chart(
            alt.Chart(balance.assign(shown=[f"{d:%d %b}" for d in balance["day"]]))
            .mark_line(point=True)
            .encode(
                x=DAY,
                y=alt.Y("left:Q", title="Credits left", scale=alt.Scale(zero=False), axis=alt.Axis(format=",d")),
                tooltip=[alt.Tooltip("shown:O", title="Day"), alt.Tooltip("left:Q", format=",")],
            ),
            width="stretch",
        )
        first = int(balance["left"].iloc[0])
        st.caption(
            f"{format_credits(now_left)} left now; {format_credits(first)} at the end of the first day shown "
            "(worked back from what was spent; top-ups are not known here)."
        )
with right:
    st.subheader("Batches")
    batches = seen.batches
    if batches.empty:
        st.caption("No batch in this view.")
    else:
        shown = batches.assign(per_minute=(batches["succeeded"] / (batches["seconds"] / 60)).where(batches["seconds"] > 0))
        st.dataframe(
            shown[["name", "rows", "succeeded", "seconds", "per_minute"]],
            hide_index=True,
            width="stretch",  # every column in the half page: "Made a minute" was cut at 1400 px
            column_config={
                "name": st.column_config.TextColumn("Batch"),
                "rows": st.column_config.NumberColumn("Rows", format="%d", width="small"),
                "succeeded": st.column_config.NumberColumn("Made", format="%d", width="small"),
                "seconds": st.column_config.NumberColumn("Seconds", format="%.0f", width="small"),
                "per_minute": st.column_config.NumberColumn("A minute", format="%.1f", width="small"),
            },
        )
        fastest = shown["per_minute"].max()
        st.caption(
            f"{len(shown)} batch{'' if len(shown) == 1 else 'es'}, {int(shown['succeeded'].sum()):,} of {int(shown['rows'].sum()):,} rows made"
            + (f"; the fastest made {fastest:.1f} a minute." if pd.notna(fastest) else ".")
        )
