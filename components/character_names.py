"""Characters by the names people gave them, on the pages: chips under a prompt, the names that fit
an @ being typed, and titles that read @Goldie rather than the handle that was sent."""

from __future__ import annotations

import streamlit as st

from studio.characters import CharacterNames, with_mention

from .resources import connection, store
from .text import plain

SHOWN = 12  # chips under a prompt; the Characters page lists them all


def character_names() -> CharacterNames:
    return CharacterNames(store().characters(ready_only=True), account=connection().account)


def as_named(text: str) -> str:
    """A prompt as people read it in a title: @Goldie, not @swift_maple.82dc77."""
    return character_names().show(text)


def _insert(key: str, name: str) -> None:
    st.session_state[key] = with_mention(st.session_state.get(key) or "", name)


def name_chips(names: CharacterNames, key: str) -> None:
    """Under the prompt widget keyed ``key``: a chip per character that adds its @name, and while the
    prompt ends with ``@`` or ``@Go…`` the names that fit (a text area cannot suggest as one types)."""
    if not names.names():
        return
    fitting = names.typing(st.session_state.get(key) or "")
    if fitting is not None:
        st.caption(
            "Characters: " + ", ".join(f"@{plain(name)}" for name in fitting)
            if fitting
            else "No character's name starts so: pick one below."
        )
    with st.container(horizontal=True, key=f"{key}_names"):
        for name in names.names()[:SHOWN]:
            st.button(
                f"@{plain(name)}",
                key=f"{key}_name_{name}",
                type="tertiary",
                on_click=_insert,
                args=(key, name),
                help=f"Adds @{name} to the prompt: the character is sent by its handle",
            )
