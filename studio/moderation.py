"""Moderation help before sending: words that got this account's prompts refused before, and a
short list of themes the services are known to refuse, each with a suggestion. It never blocks a
prompt; it explains. (The sandbox refuses its blocklist the same way, so it can be tried.)"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# Themes the services refuse often, found by word, with what to write instead.
RISKY: dict[str, str] = {
    r"gore|gory|bloody|blood|dismember\w*": "show the tension, not the wound: “a tense standoff”, “a dramatic fall”",
    r"nsfw|nude|naked|explicit|sexy": "describe the clothes and the mood: “an elegant evening look”",
    r"gun|guns|rifle|pistol|shooting|shoot": "name the action, not the weapon: “a chase”, “an archery target”",
    r"kill|killing|murder|violence|violent": "tell it without harm: “a duel of glances”, “a storm of sparks”",
    r"celebrity|president|taylor swift|elon musk|obama|trump": "real people are refused: describe a made-up person",
    r"mickey mouse|pikachu|spider-man|spiderman|batman|mario|elsa|darth vader": (
        "characters owned by a studio are refused: describe an original one, or make a Cameo character"
    ),
    r"disney|marvel|nike logo|coca-cola logo": "brands and logos are refused: describe the product without the mark",
}
_WORD = re.compile(r"[a-zà-ÿ][a-zà-ÿ'-]{3,}", re.I)
_COMMON = frozenset(
    [
        "this",
        "that",
        "with",
        "from",
        "into",
        "over",
        "under",
        "their",
        "there",
        "where",
        "while",
        "very",
        "more",
        "most",
        "some",
        "such",
        "than",
        "then",
        "they",
        "them",
        "have",
        "been",
        "were",
        "will",
        "would",
        "could",
        "should",
        "about",
        "after",
        "before",
        "slow",
        "shot",
        "camera",
        "light",
        "scene",
        "video",
        "image",
        "close",
        "wide",
        "soft",
        "golden",
        "hour",
        "table",
        "street",
    ]
)  # words too common to blame


@dataclass(frozen=True)
class Hint:
    word: str  # as written in the prompt
    why: str
    suggestion: str


def refused_words(refused: Iterable[str], accepted: Iterable[str], limit: int = 30) -> dict[str, int]:
    """Words of prompts the service refused that none of its accepted prompts used: word -> how
    many refused prompts had it."""
    fine = {w.lower() for text in accepted for w in _WORD.findall(text)}
    counts: Counter[str] = Counter()
    for text in refused:
        counts.update({w.lower() for w in _WORD.findall(text)} - fine - _COMMON)
    return dict(counts.most_common(limit))


def lint(prompt: str, history: dict[str, int]) -> list[Hint]:
    """What in ``prompt`` may be refused, first what this account saw refused, then known themes."""
    hints: list[Hint] = []
    seen: set[str] = set()
    lowered = (prompt or "").lower()
    for word in _WORD.findall(prompt or ""):
        key = word.lower()
        if key in history and key not in seen:
            seen.add(key)
            times = history[key]
            hints.append(
                Hint(
                    word,
                    f"“{word}” was in {times} of your prompts the service refused before",
                    "try other words for it, or leave it out",
                )
            )
    for pattern, suggestion in RISKY.items():
        found = re.search(rf"\b(?:{pattern})\b", lowered)
        if found and found.group(0) not in seen:
            seen.add(found.group(0))
            start, end = found.span()
            word = (prompt or "")[start:end]
            hints.append(Hint(word, f"“{word}” is a theme the services often refuse", suggestion))
    return hints
