"""The sandbox's stand-in for a chat model: a rule-based rewriter, not a language model.

It reads the request as a model would (the system message says what is wanted, the user message
holds the prompt, a brief or a picture) and answers deterministically, so prompt help works offline
and in tests. Every reply it writes is labelled as the stand-in's in the wire reply's
``system_fingerprint`` (``sandbox-stand-in``), not in the text, so the text can be taken as it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from PIL import Image

STAND_IN = "sandbox-stand-in"  # the reply's system_fingerprint: who wrote it

# a few words of a few languages, enough to show the flow; anything else is kept as it was typed
WORD_TABLE: dict[str, str] = {
    # French
    "un": "a", "une": "a", "le": "the", "la": "the", "les": "the", "chat": "cat", "chien": "dog",
    "sur": "on", "dans": "in", "plage": "beach", "au": "at the", "coucher": "setting", "du": "of the",
    "soleil": "sun", "rouge": "red", "bleu": "blue", "et": "and", "mer": "sea", "ville": "city",
    "nuit": "night", "qui": "that", "court": "runs", "voiture": "car",
    # Spanish
    "el": "the", "perro": "dog", "gato": "cat", "en": "in", "playa": "beach", "y": "and", "noche": "night",
    "ciudad": "city", "rojo": "red", "azul": "blue", "corre": "runs", "coche": "car", "mar": "sea",
    # German
    "ein": "a", "eine": "a", "der": "the", "die": "the", "das": "the", "hund": "dog", "katze": "cat",
    "am": "at the", "strand": "beach", "und": "and", "stadt": "city", "rot": "red", "blau": "blue",
    "läuft": "runs", "auto": "car", "meer": "sea",
    # Chinese (whole words, as typed without spaces they are looked up one by one)
    "猫": "cat", "狗": "dog", "海滩": "beach", "城市": "city", "夜晚": "night", "红色": "red", "蓝色": "blue",
    "在": "on", "的": "", "一只": "a", "奔跑": "running", "日落": "sunset", "和": "and",
}
# a blocked word's softer stand-in; one not listed is dropped
SOFTER: dict[str, str] = {"gore": "dramatic shadows", "violence": "tension", "explicit": "", "nsfw": ""}
VIDEO_TOUCHES = "camera slowly dollies in at eye level; soft golden side light; gentle natural motion"
IMAGE_TOUCHES = "rule-of-thirds composition, clear foreground subject, soft even light, crisp detail"
COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "red": (220, 30, 30),
    "orange": (240, 140, 20), "yellow": (240, 220, 40), "green": (40, 170, 60), "teal": (0, 140, 140),
    "blue": (30, 80, 220), "purple": (130, 50, 170), "pink": (240, 120, 180), "brown": (120, 70, 30),
}  # fmt: skip
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}


@dataclass(frozen=True)
class Request:
    """What the stand-in reads from a chat body: the instructions, the user's text, any picture."""

    instructions: str  # the system messages, lower-cased
    text: str  # the last user message's text
    image: Image.Image | None = None


def action_of(request: Request) -> str:
    """Which of the studio's requests this is, from the instructions' words (as a model would)."""
    said = request.instructions
    if request.image is not None or "describe the picture" in said:
        return "describe"
    if "json" in said and "shot" in said:
        return "storyboard"
    if "translate" in said:
        return "translate"
    if "refused" in said or "softer" in said:
        return "soften"
    if "three" in said and "variant" in said:
        return "ideas"
    return "improve"


def answer(request: Request, blocklist: tuple[str, ...]) -> str:
    """The stand-in's reply text for a request."""
    action = action_of(request)
    if action == "describe":
        return describe(request)
    if action == "storyboard":
        return storyboard(request)
    if action == "translate":
        return translate(request.text)
    if action == "soften":
        return soften(request.text, blocklist)
    if action == "ideas":
        return ideas(request)
    return improve(request)


def _limit(instructions: str) -> int | None:
    found = re.search(r"(?:at most|under|no more than)\s+([\d,]+)\s+characters", instructions)
    return int(found.group(1).replace(",", "")) if found else None


def _fit(text: str, limit: int | None) -> str:
    """``text`` cut at a word to the length the request allows."""
    if limit is None or len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;: ")
    return cut or text[:limit]


def _subject(text: str) -> str:
    said = " ".join(text.split()).rstrip(".!? ")
    return said[:1].upper() + said[1:]


def improve(request: Request) -> str:
    """The prompt with what a video (camera, light, motion) or a picture (composition) needs."""
    touches = IMAGE_TOUCHES if "image model" in request.instructions else VIDEO_TOUCHES
    return _fit(f"{_subject(request.text)}; {touches}.", _limit(request.instructions))


def ideas(request: Request) -> str:
    subject = _subject(request.text)
    if "image model" in request.instructions:
        takes = ("close-up portrait, shallow depth of field", "wide shot, subject small against the scene",
                 "top-down flat lay, bold graphic shapes")  # fmt: skip
    else:
        takes = ("slow push-in at golden hour", "handheld tracking shot at night, neon reflections",
                 "aerial drone pull-back revealing the place")  # fmt: skip
    limit = _limit(request.instructions)
    return "\n".join(f"{n}. {_fit(f'{subject}, {take}', limit)}" for n, take in enumerate(takes, start=1))


def translate(text: str) -> str:
    """Word by word from a small table (the stand-in's whole vocabulary); other words stay as typed."""
    tokens = re.findall(r"\{\w*\}|\w+|[^\w\s]", text)  # a {placeholder} stays as it is
    words: list[str] = []
    for token in tokens:
        lowered = token.lower()
        if lowered in WORD_TABLE:
            if WORD_TABLE[lowered]:
                words.append(WORD_TABLE[lowered])
            continue
        pieces = _cjk_words(token) if re.search(r"[\u4e00-\u9fff]", token) else None
        words.extend(pieces if pieces else [token])
    out = " ".join(words)
    out = re.sub(r"\s+([,.!?;:])", r"\1", out)
    return out[:1].upper() + out[1:]


def _cjk_words(token: str) -> list[str]:
    """Longest known words first through a run of Chinese characters."""
    found, at = [], 0
    while at < len(token):
        for size in (2, 1):
            piece = token[at : at + size]
            if piece in WORD_TABLE:
                if WORD_TABLE[piece]:
                    found.append(WORD_TABLE[piece])
                at += size
                break
        else:
            found.append(token[at])
            at += 1
    return found


def soften(text: str, blocklist: tuple[str, ...]) -> str:
    """The prompt without the words the sandbox's moderation refuses: the new prompt on the first
    line, then what changed and why."""
    changes: list[str] = []
    softened = " ".join(text.split())
    for word in blocklist:
        pattern = re.compile(rf"\b{re.escape(word)}\b", re.I)
        if not pattern.search(softened):
            continue
        instead = SOFTER.get(word, "")
        softened = pattern.sub(instead, softened)
        changes.append(f"'{word}' {'became ' + repr(instead) if instead else 'was dropped'}")
    softened = re.sub(r"\s+([,.!?;:])", r"\1", " ".join(softened.split()))
    if not changes:
        return f"{softened}\nChanged: nothing; no word of it is on the sandbox's block list."
    return f"{softened}\nChanged: {', '.join(changes)}: the sandbox's moderation refuses the words on its block list."


def _colour_name(rgb: tuple[int, int, int]) -> str:
    return min(COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(COLOURS[name], rgb, strict=True)))


def main_colours(image: Image.Image, count: int = 3) -> list[str]:
    """The picture's main colours by name, most of the picture first."""
    small = image.convert("RGB").resize((48, 48))
    shares: dict[str, int] = {}
    for amount, rgb in small.getcolors(48 * 48) or []:
        name = _colour_name(rgb)
        shares[name] = shares.get(name, 0) + amount
    return sorted(shares, key=lambda name: -shares[name])[:count]


def describe(request: Request) -> str:
    image = request.image
    if image is None:
        return "There is no picture in the request to describe."
    shape = "wide" if image.width > image.height * 1.1 else "tall" if image.height > image.width * 1.1 else "square"
    colours = main_colours(image)
    main = colours[0]
    rest = f", with {' and '.join(colours[1:])}" if len(colours) > 1 else ""
    prompt = f"A {shape} {image.width}x{image.height} picture, mostly {main}{rest}"
    return _fit(prompt, _limit(request.instructions))


def _count(words: str) -> int | None:
    found = re.search(r"\b(\d+|" + "|".join(NUMBERS) + r")\s+(?:shots|scenes)\b", words)
    if not found:
        return None
    value = found.group(1)
    return int(value) if value.isdigit() else NUMBERS[value]


def storyboard(request: Request) -> str:
    """Shots with prompts and lengths, as the JSON the request asks for: as many shots as the brief
    says (else the instructions, else three), lengths the model allows summing near the brief's total."""
    brief = " ".join(request.text.split())
    shots = _count(brief.lower()) or _count(request.instructions) or 3
    shots = max(1, min(shots, 12))
    allowed = sorted({int(n) for n in re.findall(r"\d+", _after(request.instructions, "seconds allowed:"))})
    if not allowed:
        span = re.search(r"from (\d+) to (\d+) seconds", request.instructions)
        allowed = list(range(int(span.group(1)), int(span.group(2)) + 1)) if span else [4, 8, 12]
    total = re.search(r"(\d+)[- ]?(?:second|sec|s\b)", brief.lower())
    each = int(total.group(1)) / shots if total else allowed[0]
    seconds = min(allowed, key=lambda n: (abs(n - each), n))
    subject = re.sub(r"^(?:an?|the)\s+(?:\d+[- ]?second\s+)?(?:(?:ad|advert|video|film|spot|clip)\s+(?:for|of|about)\s+)?",
                     "", brief, flags=re.I)
    subject = re.split(r",\s*(?:\d+|" + "|".join(NUMBERS) + r")\s+(?:shots|scenes)", subject, flags=re.I)[0]
    beats = ("establishing wide shot of", "close-up detail of", "hero shot, slow push-in on",
             "medium shot in motion with", "final logo-style beauty shot of")  # fmt: skip
    plan = [
        {"prompt": f"Shot {n}: {beats[(n - 1) % len(beats)]} {subject.rstrip('.')}", "seconds": seconds}
        for n in range(1, shots + 1)
    ]
    return json.dumps({"shots": plan})


def _after(text: str, marker: str) -> str:
    at = text.find(marker)
    return re.split(r"\.(?!\d)|\n", text[at + len(marker) :], maxsplit=1)[0] if at >= 0 else ""
