"""The brand kit on the forms that take pictures (references, start images, first and last
frames): "From the brand kit" picks assets by their @name and hands back how a request names them (``file:<media path>``: the engine puts each in
GrsAI's storage once per account and names it by URL after); "Append the house style" adds the
kit's sentence to a prompt."""

from __future__ import annotations

import streamlit as st

from components.resources import connection, media, store
from components.text import plain
from studio.brand import BrandKit, with_house_style
from studio.db import BrandAsset


def brand_kit() -> BrandKit:
    """The kit of the account this session sends with."""
    return BrandKit(store(), media(), connection())


def brand_picker(key: str, *, limit: int | None = None, label: str = "From the brand kit") -> list[BrandAsset]:
    """A multiselect of the kit's assets by @name (none shown when the kit is empty); returns the
    chosen assets (``.ref`` is how a request names one), at most ``limit``."""
    assets = brand_kit().assets()
    if not assets or limit == 0:
        return []
    by_name = {f"@{a.name}": a for a in assets}
    chosen = st.multiselect(
        label,
        list(by_name),
        key=key,
        max_selections=limit,
        placeholder="Pick logos, products, faces…",
        help="Pictures kept on the Brand kit page, sent as references (put in the service's storage once).",
    )
    files = media()
    thumbs = [files.source(by_name[n].thumb_path) for n in chosen if files.exists(by_name[n].thumb_path)]
    if thumbs:
        st.image(thumbs, width=64, caption=chosen if len(thumbs) == len(chosen) else None)
    return [by_name[n] for n in chosen]


def picked_pictures(key: str) -> list[dict]:
    """The pictures picked in the picker ``key`` as prompt help reads a form's images
    ({"data": bytes}), for "Describe this picture"; one whose file is gone is left out."""
    chosen = set(st.session_state.get(key) or [])
    if not chosen:
        return []
    files, found = media(), []
    for asset in brand_kit().assets():
        if f"@{asset.name}" in chosen and files.exists(asset.media_path):
            try:
                found.append({"data": files.read(asset.media_path)})
            except (OSError, ValueError):
                continue
    return found


def with_kit(params: dict, assets: list[BrandAsset]) -> dict:
    """A request's parameters with the picked kit assets after its own reference images."""
    if not assets:
        return params
    own = params.get("reference_urls") or []
    return {**params, "reference_urls": [*([own] if isinstance(own, str | bytes) else own), *(a.ref for a in assets)]}


def fill_from_kit(values: list, assets: list[BrandAsset]) -> list:
    """Single-picture fields (Sora's image, Veo's first and last frames) in order: each one left
    empty takes the next picked asset; one the person filled keeps what they gave."""
    refs = [a.ref for a in assets]
    return [value or (refs.pop(0) if refs else value) for value in values]


def house_style_choice(key: str) -> str | None:
    """A checkbox "Append the house style" when the kit has a sentence; the sentence when ticked."""
    sentence = brand_kit().style().house_style
    if not sentence:
        return None
    ticked = st.checkbox("Append the house style", key=key, help=f"Adds to the prompt: “{plain(sentence)}”")
    return sentence if ticked else None


def styled(prompt: str, key: str) -> str:
    """The prompt with the house style appended when the person ticked it (``house_style_choice``)."""
    if not st.session_state.get(key):
        return prompt
    return with_house_style(prompt, brand_kit().style())


__all__ = ["brand_kit", "brand_picker", "fill_from_kit", "house_style_choice", "picked_pictures", "styled", "with_kit"]
