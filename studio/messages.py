"""What a failure means, in words for the person who asked."""

from __future__ import annotations

REFUND_NOTE = "Nothing was charged: failed tasks are refunded at once."

FAILURE_HELP = {
    "input_moderation": (
        "The prompt (or an image or clip in it) was turned down by content moderation before "
        "anything was made. Rephrase it: leave out violence, adult content, real people and brands."
    ),
    "output_moderation": (
        "The video was made, but content moderation withheld it. Try again, or describe the "
        "scene more gently."
    ),
    "violation": (
        "Content moderation refused this request: the prompt or its images break the model's rules. "
        "Rephrase it: leave out violence, adult content, real people and brands."
    ),
    "error": "The service could not make this. Trying again usually works.",
    "refused": "The service refused this request before making anything.",
    "copy": "It was made, but its file could not be copied before the link expired.",
}


def explain_failure(reason: str | None, detail: str | None = None) -> str:
    text = FAILURE_HELP.get(reason or "error", FAILURE_HELP["error"])
    if detail:
        text += f" ({detail})" if reason in ("refused", "copy") else f" (Service said: {detail})"
    if reason == "copy":
        return f"{text} It was charged: the service made it."
    return f"{text} {REFUND_NOTE}"
