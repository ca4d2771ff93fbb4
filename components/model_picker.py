"""The model picker of Generate and Images: models grouped by family, each with its status and its
price in credits (¥ beside), and what a page shows when the chosen model is down.

The chosen model id lives in ``st.session_state[f"{key}_model"]``; another page preselects one by a
handoff of that key.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from grsai_api import MODELS, ModelSpec, families
from studio.availability import ModelBoard
from studio.costs import credits_text, price

from .resources import refresh_models

UP, DOWN, UNKNOWN = ":green[●]", ":red[●]", ":gray[●]"


def status_dot(board: ModelBoard, model: str) -> str:
    if board.status(model) is None:
        return UNKNOWN
    return DOWN if board.is_down(model) else UP


def family_state(board: ModelBoard, members: list[ModelSpec]) -> str:
    """A family is up when any of its models is."""
    dots = {status_dot(board, m.id) for m in members}
    return UP if UP in dots else (UNKNOWN if UNKNOWN in dots else DOWN)


def model_line(board: ModelBoard, spec: ModelSpec, *, markdown: bool = True) -> str:
    """"● Fast · 1080p — 3,200 credits (¥0.16)" (a coloured dot where Markdown is drawn; in a
    select box, which shows text as it is, the state in words after a model that is not up)."""
    label = f"{spec.label or spec.family} — {credits_text(price(spec.id))}"
    if markdown:
        return f"{status_dot(board, spec.id)} {label}"
    if board.is_down(spec.id):
        return f"{label} · down"
    return label if board.status(spec.id) is not None else f"{label} · status unknown"


def _chosen(kind: str, board: ModelBoard, key: str) -> ModelSpec:
    """The model in session state if it is of this kind, else the best one that is up."""
    current = MODELS.get(st.session_state.get(f"{key}_model") or "")
    if current is None or current.kind != kind:
        current = board.best(kind) or next(m for m in MODELS.values() if m.kind == kind)
        st.session_state[f"{key}_model"] = current.id
    return current


def _family_changed(key: str, board: ModelBoard, grouped: dict[str, list[ModelSpec]]) -> None:
    """A new family: its best member that is up (its first if none is)."""
    family = st.session_state.get(f"{key}_family")
    members = grouped.get(family or "", [])
    if members:
        up = [m for m in members if board.is_up(m.id)]
        st.session_state[f"{key}_model"] = (up or members)[0].id


def model_picker(kind: str, board: ModelBoard, *, key: str) -> ModelSpec:
    """Draw the picker; returns the chosen model's entry."""
    grouped = families(kind)  # type: ignore[arg-type]
    current = _chosen(kind, board, key)
    st.session_state[f"{key}_family"] = current.family
    names = list(grouped)
    st.segmented_control(
        "Model",
        names,
        key=f"{key}_family",
        required=True,
        format_func=lambda name: f"{family_state(board, grouped[name])} {name}",
        on_change=_family_changed,
        args=(key, board, grouped),
        help="Green: up. Red: down right now (it can't be sent to). Grey: the service did not say.",
    )
    members = grouped[current.family]
    if len(members) > 1:
        st.selectbox(
            f"{current.family} version",
            [m.id for m in members],
            key=f"{key}_model",
            format_func=lambda model: model_line(board, MODELS[model], markdown=False),
        )
    else:
        st.caption(model_line(board, current))
    chosen = MODELS[st.session_state[f"{key}_model"]]
    if chosen.price_note:
        st.caption(f":material/info: {price_said(chosen)}")
    return chosen


def price_said(spec: ModelSpec) -> str:
    """A price that is not GrsAI's published one, said plainly with where to change it: "GrsAI does
    not publish this model's price: 3,000 credits (¥0.15) is this studio's guess. …"."""
    charged = price(spec.id)
    whose = "the price your team set" if charged != spec.price else "this studio's guess"
    return (
        f"{spec.price_note}: {credits_text(charged)} is {whose}. "
        "To change it for everyone, edit it under Settings → Prices."
    )


def model_down(
    spec: ModelSpec, board: ModelBoard, *, key: str, carry: Callable[[ModelSpec], None] | None = None
) -> bool:
    """When ``spec`` is down: say so in words and offer the closest model that is up (switching
    carries the prompt, ratio and images across through ``carry``). True when down: nothing may be
    sent to it."""
    if not board.is_down(spec.id):
        return False
    offer = board.closest(spec.id)
    with st.container(border=True, key=f"{key}_down"):
        st.error(f"{board.why_down(spec.id)}, so nothing can be sent to it.", icon=":material/cloud_off:")
        if offer is not None:
            st.button(
                f"Use {offer.name} instead · {credits_text(price(offer.id))}",
                key=f"{key}_switch",
                type="primary",
                icon=":material/swap_horiz:",
                on_click=_switch,
                args=(key, offer, carry),
                width="stretch",
            )
        else:
            st.caption(f"No other {spec.kind} model is up right now. Try again in a few minutes.")
        st.button("Check again", key=f"{key}_recheck", icon=":material/refresh:", on_click=refresh_models, type="tertiary")
    return True


def _switch(key: str, offer: ModelSpec, carry: Callable[[ModelSpec], None] | None) -> None:
    st.session_state[f"{key}_model"] = offer.id
    st.session_state[f"{key}_family"] = offer.family
    if carry is not None:
        carry(offer)
    st.toast(f"Switched to {offer.name}: your prompt and images came along.", icon=":material/swap_horiz:")
