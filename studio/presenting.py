"""Present mode and Compare: a link names a set of results (``?present=<kind>:<id>``); this reads
it, says in words what is wrong with one that names nothing, and labels each item of the set."""

from __future__ import annotations

from dataclasses import dataclass

from .db import Generation, Store

KINDS = ("family", "storyboard", "group", "compare")
COMPARE_SIZES = range(2, 5)  # two to four finished items side by side
MAX_ID_DIGITS = 18


class PresentError(ValueError):
    """A ``present`` value that names no set that can be shown: the message says why, in words."""


@dataclass(frozen=True)
class Presentation:
    kind: str
    title: str
    items: list[Generation]
    labels: list[str]  # one per item: "Take 2", "Shot 3", "Remix 1" …


def present_link(kind: str, ref: object) -> str:
    """The value of ``present`` that opens this set."""
    return f"{kind}:{','.join(map(str, ref)) if isinstance(ref, list | tuple) else ref}"


def _number(text: str) -> int:
    if not text.isdigit() or len(text) > MAX_ID_DIGITS:
        raise PresentError(f"“{text}” is not the number of an item in the Library.")
    return int(text)


def presentation(store: Store, value: str | None) -> Presentation:
    """The set a ``present`` value names, with its items; PresentError when it names none."""
    kind, _, ref = (value or "").strip().partition(":")
    ref = ref.strip()
    if kind not in KINDS or not ref:
        raise PresentError(
            "This presentation link is not one the studio makes: it should read family:<pid>, "
            "storyboard:<number>, group:<key> or compare:<numbers>. Open one from the Library's details."
        )
    if kind == "family":
        items = store.family_to_present(ref)
        remixes = iter(range(1, len(items) + 1))
        labels = [f"Remix {next(remixes)}" if g.kind == "remix" else "Original" for g in items]
        title = "A remix family"
    elif kind == "storyboard":
        board = store.storyboard(_number(ref))
        items = store.storyboard_to_present(board.id) if board is not None else []
        labels = ["The film" if g.kind == "storyboard" else f"Shot {(g.storyboard_shot or 0) + 1}" for g in items]
        title = f"Storyboard “{board.name}”" if board is not None and board.name else "A storyboard"
    elif kind == "group":
        items = store.group_to_present(ref)
        labels = [f"Take {n}" for n in range(1, len(items) + 1)]
        title = f"{len(items)} takes of one prompt"
    else:
        ids = list(dict.fromkeys(_number(part.strip()) for part in ref.split(",") if part.strip()))
        if len(ids) not in COMPARE_SIZES:
            raise PresentError("Compare shows two to four finished items: choose them in the Library.")
        items = store.chosen_to_present(ids)
        labels = [str(n) for n in range(1, len(items) + 1)]
        title = "Compare"
    if not items:
        raise PresentError("There is nothing finished to show for this link: it was deleted, or is not made yet.")
    return Presentation(kind, title, items, labels)
