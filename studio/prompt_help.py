"""Prompt help on the same key: a chat model improves, translates, varies or softens a prompt,
describes a picture, or turns a brief into storyboard shots. Only when asked, and never more than a
chat call: nothing here sends to a video or image model. Every call is recorded with its cost, so
Store.spent() and Insights count it.

The messages say the chosen model's kind and limits (from its ModelSpec), and the replies are read
back strictly: a reply that cannot be read is said in words, never shown as a result."""

from __future__ import annotations

import base64
import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from grsai_api import MAX_PROMPT_CHARS, MODELS, GrsaiError, ModelSpec, models

from . import costs
from .connection import Connection
from .db import FailureReason, Status
from .engine.outcomes import Outcome, judge
from .storyboard import MAX_SHOTS

ACTIONS = {
    "improve": "Improve",
    "translate": "Translate to English",
    "ideas": "3 ideas",
    "describe": "Describe this picture",
    "soften": "Suggest a softer wording",
    "storyboard": "From a brief",
}
CHAT_MODEL_SETTING = "chat_model"
# How long a help call is waited for: a picture described by a large model can take most of a minute.
# A call that goes out and is not answered in time may have been charged (it is recorded as unknown).
CHAT_TIMEOUT = httpx.Timeout(90.0, connect=5.0)
MAYBE_CHARGED = (
    "No answer came back from the chat model ({detail}), so there is no suggestion. The call may have "
    "been charged ({price}): it is counted in what was spent. Try again, or write it yourself."
)
REFUSES = "violence, gore, adult content, real people, brands and logos, and characters owned by a studio"


class HelpProblem(Exception):
    """Why a help call gave nothing to use, in words for the person (nothing was put in the prompt)."""


@dataclass(frozen=True)
class Help:
    """One chat call's answer: its text as written, the model that wrote it and what it cost."""

    action: str
    text: str
    model: str
    cost: int


# -- the chat model ------------------------------------------------------------------------------
def chat_models() -> list[ModelSpec]:
    return models("chat")


def chosen_chat_model(saved: str | None, up: frozenset[str] | set[str]) -> ModelSpec | None:
    """The chat model Settings chose, else the first chat model of the catalogue that is up (None
    when there is no chat model at all). A chosen model that is down stays chosen: the buttons say so."""
    if saved in MODELS and MODELS[saved].kind == "chat":
        return MODELS[saved]
    chats = chat_models()
    return next((m for m in chats if m.id in up), chats[0] if chats else None)


def saved_chat_model(store) -> str | None:
    return store.get_setting(CHAT_MODEL_SETTING)


def save_chat_model(store, model: str) -> None:
    """Settings' choice for the whole deployment; a model that is not a chat model is refused."""
    if model not in MODELS or MODELS[model].kind != "chat":
        raise ValueError(f"{model!r} is not a chat model")
    store.put_setting(CHAT_MODEL_SETTING, model)


def picture_address(data: bytes) -> str:
    """An uploaded picture as the data: address a chat model reads (OpenAI's image_url takes one)."""
    kind = "png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "jpeg" if data[:2] == b"\xff\xd8" else "webp"
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def help_price(model: str) -> int:
    """Credits one help call costs: the price table's figure for the chat model (editable in Settings)."""
    return costs.price(model)


# -- the messages --------------------------------------------------------------------------------
def _about(spec: ModelSpec) -> str:
    """What the prompt is for and what it must respect, in the words a chat model reads."""
    what = "an image model" if spec.kind == "image" else "a video model"
    lines = [f"The prompt is for {spec.name} ({spec.id}), {what}."]
    lines.append(f"Keep it at most {MAX_PROMPT_CHARS:,} characters.")
    if spec.kind == "video":
        longest = spec.longest(None)
        if longest:
            lines.append(f"A video lasts at most {longest} seconds: describe what fits in that time.")
    lines.append(f"The model refuses {REFUSES}: never ask for them.")
    return " ".join(lines)


def _messages(system: str, user: Any) -> list[dict[str, Any]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


TEMPLATE_NOTE = (
    " It is a template for a table of rows: keep every {placeholder} in braces exactly as written "
    "(each row fills them) and add no new ones."
)


def improve_messages(prompt: str, spec: ModelSpec, *, template: bool = False) -> list[dict[str, Any]]:
    adds = (
        "Add composition, framing and light."
        if spec.kind == "image"
        else "Add the camera (angle and movement), the light, and the motion in the scene."
    )
    return _messages(
        f"You improve prompts. {_about(spec)} {adds} Keep the person's idea and words where you can."
        f"{TEMPLATE_NOTE if template else ''} Reply with the improved prompt only.",
        prompt,
    )


def translate_messages(prompt: str, *, template: bool = False) -> list[dict[str, Any]]:
    return _messages(
        f"Translate the prompt into English, keeping its meaning and details. Keep it at most "
        f"{MAX_PROMPT_CHARS:,} characters.{TEMPLATE_NOTE if template else ''} Reply with the translation only.",
        prompt,
    )


def ideas_messages(prompt: str, spec: ModelSpec, *, template: bool = False) -> list[dict[str, Any]]:
    return _messages(
        f"Write three different variants of the prompt, each a full prompt of its own. {_about(spec)}"
        f"{TEMPLATE_NOTE if template else ''} Reply with the three numbered 1., 2., 3., one a line, and nothing else.",
        prompt,
    )


def describe_messages(image_url: str, spec: ModelSpec) -> list[dict[str, Any]]:
    return _messages(
        f"Describe the picture as a prompt that would make it. {_about(spec)} Reply with the prompt only.",
        [
            {"type": "text", "text": "Describe this picture as a prompt."},
            {"type": "image_url", "image_url": {"url": image_url}},
        ],
    )


def soften_messages(prompt: str, spec: ModelSpec, *, refused: str, service_text: str | None) -> list[dict[str, Any]]:
    said = f" The service said: {service_text}." if service_text else ""
    return _messages(
        f"The service refused this request; what it refused was {refused}.{said} Write a softer wording "
        f"of the prompt that keeps the idea. {_about(spec)} Reply with the new prompt on the first line, "
        "then one line starting 'Changed:' saying what you changed and why.",
        prompt,
    )


def shot_lengths(spec: ModelSpec, offered: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The lengths a shot of this model may have: those a page offers, else the model's own."""
    return tuple(offered) if offered else spec.durations or ((spec.seconds,) if spec.seconds else ())


def storyboard_messages(brief: str, spec: ModelSpec, lengths: tuple[int, ...] | None = None) -> list[dict[str, Any]]:
    lengths = shot_lengths(spec, lengths)
    allowed = f" Seconds allowed: {', '.join(str(n) for n in lengths)}." if lengths else ""
    return _messages(
        f"Turn the brief into storyboard shots, at most {MAX_SHOTS}, each a prompt of its own that "
        f"continues the one before. {_about(spec)}{allowed} Reply with JSON only: "
        '{"shots": [{"prompt": "...", "seconds": 8}]}',
        brief,
    )


# -- reading the replies ---------------------------------------------------------------------------
def _shown(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def read_prompt(text: str) -> str:
    """A reply that is one prompt: quotes and code fences taken off; empty or too long is a problem."""
    cleaned = re.sub(r"^```\w*\s*|\s*```$", "", text.strip()).strip().strip('"“”').strip()
    if not cleaned:
        raise HelpProblem("The chat model answered with nothing to use. Try again, or write it yourself.")
    if len(cleaned) > MAX_PROMPT_CHARS:
        raise HelpProblem(
            f"The suggestion is {len(cleaned):,} characters, over the {MAX_PROMPT_CHARS:,} a prompt may have."
        )
    return cleaned


def read_template(text: str, original: str) -> str:
    """A suggestion for a batch template: one prompt with exactly the original's {column}
    placeholders (a lost or new one would leave rows unfilled or refused), else said in words."""
    from .batch import BatchInputError, template_fields

    suggestion = read_prompt(text)
    try:
        wanted = set(template_fields(original))
    except BatchInputError:
        return suggestion  # the template itself is broken: its own field says so
    try:
        got = set(template_fields(suggestion))
    except BatchInputError as exc:
        raise HelpProblem(f"The suggestion broke the template's braces, so it is not offered: {exc}") from None
    lost, new = sorted(wanted - got), sorted(got - wanted)
    if lost or new:
        said = "; ".join(
            part for part in (
                f"it lost {', '.join('{' + n + '}' for n in lost)}" if lost else "",
                f"it added {', '.join('{' + n + '}' for n in new)}" if new else "",
            ) if part
        )  # fmt: skip
        raise HelpProblem(f"The suggestion is not offered: {said}, and each row fills the template's own.")
    return suggestion


def read_ideas(text: str) -> list[str]:
    """The numbered ideas ("1. …", "2) …") of a reply, in order."""
    ideas = [m.group(1).strip() for m in re.finditer(r"^\s*\d+[.)]\s*(.+?)\s*$", text, re.M) if m.group(1).strip()]
    if not ideas:
        raise HelpProblem(f"The reply had no numbered ideas to offer (it said: {_shown(text)}).")
    return [read_prompt(idea) for idea in ideas[:3]]


def read_softer(text: str) -> tuple[str, str]:
    """The softer prompt and what changed (the line starting "Changed:")."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    changed = next((line for line in lines if line.lower().startswith("changed:")), "")
    prompt = " ".join(line for line in lines if line is not changed and line != changed)
    return read_prompt(prompt), changed.partition(":")[2].strip() or "The reply did not say what it changed."


def read_storyboard(text: str, spec: ModelSpec, lengths: tuple[int, ...] | None = None) -> list[tuple[str, int]]:
    """Shots as (prompt, seconds), each checked against the model: a length it cannot make, an empty
    prompt, or more than a storyboard holds is said in words."""
    body = re.sub(r"^```\w*\s*|\s*```$", "", text.strip())
    try:
        data = json.loads(body)
    except ValueError:
        raise HelpProblem(f"The reply was not the list of shots asked for (it said: {_shown(text)}).") from None
    shots = data.get("shots") if isinstance(data, dict) else data
    if not isinstance(shots, list) or not shots:
        raise HelpProblem("The reply listed no shots.")
    if len(shots) > MAX_SHOTS:
        raise HelpProblem(f"The reply has {len(shots)} shots; a storyboard has at most {MAX_SHOTS}.")
    allowed = shot_lengths(spec, lengths)
    plan: list[tuple[str, int]] = []
    for number, shot in enumerate(shots, start=1):
        prompt = shot.get("prompt") if isinstance(shot, dict) else None
        seconds = shot.get("seconds") if isinstance(shot, dict) else None
        if not isinstance(prompt, str) or not prompt.strip():
            raise HelpProblem(f"Shot {number} of the reply has no prompt.")
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise HelpProblem(f"Shot {number} of the reply gives no length in whole seconds.")
        if allowed and seconds not in allowed:
            lengths = ", ".join(str(n) for n in allowed)
            raise HelpProblem(f"Shot {number} of the reply lasts {seconds} s; {spec.name} makes {lengths} s.")
        plan.append((read_prompt(prompt), seconds))
    return plan


# -- differences -----------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:[\w'’-]+|[^\w\s])")  # a word or a punctuation mark, with the space before it


def _pieces(original: str, suggestion: str) -> list[tuple[str, str]]:
    """("same" | "removed" | "added", the text as written, with its leading space)."""
    before, after = _TOKEN.findall(original), _TOKEN.findall(suggestion)
    matcher = difflib.SequenceMatcher(a=[t.strip() for t in before], b=[t.strip() for t in after], autojunk=False)
    parts: list[tuple[str, str]] = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            parts.append(("same", "".join(after[b1:b2])))
            continue
        if a2 > a1:
            parts.append(("removed", "".join(before[a1:a2])))
        if b2 > b1:
            parts.append(("added", "".join(after[b1:b2])))
    return parts


def diff_pieces(original: str, suggestion: str) -> list[tuple[str, str]]:
    """The differences in order, for a page to mark: ("same" | "removed" | "added", text)."""
    return _pieces(original, suggestion)


def diff_text(original: str, suggestion: str) -> str:
    """The differences as plain text: [-removed-] and [+added+], the rest as it was."""
    marks = {"same": "{}", "removed": "[-{}-]", "added": "[+{}+]"}
    shown = []
    for op, text in _pieces(original, suggestion):
        body = text.lstrip()
        shown.append(text[: len(text) - len(body)] + marks[op].format(body))
    return "".join(shown).strip()


# -- after a refusal -------------------------------------------------------------------------------
_IMAGE_WORDS = re.compile(r"\b(image|images|picture|photo|reference|frame|first_frame|last_frame|url)\b", re.I)
_CHARACTER_WORDS = re.compile(r"\b(character|characters|cameo|likeness|face|person)\b|@\w", re.I)


def refused_input(
    reason: str | None, service_text: str | None, *, has_image: bool, has_characters: bool
) -> str | None:
    """Which input a refusal was about, from the failure reason and the service's own text: the
    finished video (output moderation), a reference image or a character when the service names one
    that was sent, else the prompt. None when the failure was no content refusal (an error, a request
    turned down before processing, a file not copied): no input was refused, none is named."""
    if not FailureReason.of(reason).is_moderation:
        return None
    said = service_text or ""
    if reason == "output_moderation":
        return "the finished video (made from the prompt)"
    if has_image and _IMAGE_WORDS.search(said):
        return "a reference image"
    if has_characters and _CHARACTER_WORDS.search(said):
        return "a character"
    return "the prompt"


def _no_answer(exc: GrsaiError) -> str:
    """Why a call that went out has no answer, in a few words (the client's own text speaks of tasks)."""
    if isinstance(exc.__cause__, httpx.TimeoutException):
        return "it did not answer in time"
    status = getattr(exc, "status_code", None)
    return f"the service failed, HTTP {status}" if status else "the reply broke off or could not be read"


# -- the call ------------------------------------------------------------------------------------
class PromptHelp:
    """Sends one help request to the chosen chat model and records what it cost."""

    def __init__(self, store, *, timeout: float | httpx.Timeout | None = None) -> None:
        self.store = store
        self.timeout = timeout  # None: CHAT_TIMEOUT

    def ask(self, connection: Connection, action: str, messages: list[dict[str, Any]], model: str) -> Help:
        """One chat call; HelpProblem in words when it gave nothing to use. A call the service
        answered is recorded as charged, a filtered answer too; one that may have reached the service
        with no answer back (the outcome rules' unknown: a timeout, a cut reply, a 5xx) is recorded
        as unknown at its price, and never sent again by itself."""
        if action not in ACTIONS:
            raise ValueError(f"unknown help action {action!r}")
        cost = help_price(model)
        record = {"service": connection.service_id, "account": connection.account, "model": model,
                  "action": action, "cost": cost}  # fmt: skip
        try:
            with connection.client(timeout=self.timeout or CHAT_TIMEOUT) as client:
                reply = client.chat(messages=messages, model=model)
        except GrsaiError as exc:
            if judge(exc).outcome == Outcome.UNKNOWN:
                self.store.record_chat_call(**record, status=Status.UNKNOWN)
                raise HelpProblem(MAYBE_CHARGED.format(detail=_no_answer(exc), price=costs.credits_text(cost))) from None
            raise HelpProblem(f"The chat model could not help this time: {getattr(exc, 'message', None) or exc}") from None
        self.store.record_chat_call(**record)
        if reply.filtered:
            raise HelpProblem(
                "The chat model's own content filter held its answer back; rephrase the prompt yourself."
            )
        return Help(action=action, text=reply.text, model=reply.model, cost=cost)
