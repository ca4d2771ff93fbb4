"""User text shown as text: Streamlit renders Markdown (links, LaTeX, HTML-like tags) in most
elements, so anything a person typed is escaped before it is drawn."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$])")


def plain(text: str | None, limit: int | None = None) -> str:
    """``text`` escaped so that Markdown shows it literally, cut to ``limit`` characters."""
    value = text or ""
    if limit is not None and len(value) > limit:
        value = value[:limit].rstrip() + "…"
    escaped = _MARKDOWN.sub(r"\\\1", value).replace("\n", " ")
    # escaping does not stop Markdown from turning a bare web address into a link: break the
    # address with an invisible joiner so it is shown as the words it is
    return escaped.replace("://", ":\u2060//").replace("www\\.", "www\u2060\\.")
