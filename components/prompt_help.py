"""Prompt help beside a prompt field: Improve, Translate to English, 3 ideas (and Describe this
picture when there is one). Only on a click, one chat call each at its stated price; the suggestion
is shown beside the original with the differences as text, and the person takes it, edits it or
leaves it. Nothing here sends anything to a video or image model."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import streamlit as st

from grsai_api import MODELS, InvalidRequestError, ModelSpec, is_refusal, models
from studio import costs
from studio import prompt_help as ph
from studio.connection import valid_url

from .resources import connection, generation_service, model_board, store
from .text import plain

PROMPT_ACTIONS = ("improve", "translate", "ideas")


def chat_model() -> tuple[ModelSpec | None, str | None]:
    """The chat model prompt help uses, and why its buttons are off (None: they are on)."""
    board = model_board(connection())
    chat = ph.chosen_chat_model(ph.saved_chat_model(store()), board.up())
    if chat is None:
        return None, "Prompt help is off: the catalogue has no chat model."
    if board.is_down(chat.id):
        return chat, f"Prompt help is off: {board.why_down(chat.id)}"
    return chat, None


def picture_of(images: list[dict]) -> str | None:
    """The first picture of a form's images ({"url": ...} or {"data": bytes}) as an address a chat
    model reads, or None when the form has none."""
    first = images[0] if images else None
    if first is None:
        return None
    return first["url"] if first.get("url") else ph.picture_address(first["data"])


def form_pictures(files_key: str, urls_key: str | None = None) -> list[dict]:
    """The pictures a form's image field holds now, uploads first ({"data": bytes}), then each web
    address typed on its own line ({"url": ...}): what "Describe this picture" reads."""
    uploads = st.session_state.get(files_key)
    uploads = [] if uploads is None else uploads if isinstance(uploads, list) else [uploads]
    found = [{"data": upload.getvalue()} for upload in uploads]
    typed = (st.session_state.get(urls_key) or "") if urls_key else ""
    return found + [{"url": line.strip()} for line in typed.splitlines() if valid_url(line.strip())]


def cost_words(chat: ModelSpec) -> str:
    return f"{costs.credits_text(ph.help_price(chat.id))} a help call"


def _use(prompt_key: str, text: str, state_key: str) -> None:
    """Put the suggestion (as edited, if it was) into the prompt field: a callback, so it is set
    before the field is drawn on the next run."""
    st.session_state[prompt_key] = st.session_state.pop(f"{state_key}_edited", text)
    st.session_state.pop(state_key, None)


def _fill(prompt_key: str, example: str) -> None:
    st.session_state[prompt_key] = example


def _said_problem(state_key: str, found: dict) -> bool:
    """A reply that could not be used, said in words with a way to put it away (True when it was)."""
    if not found.get("problem"):
        return False
    st.warning(plain(found["problem"], 600), icon=":material/help:")
    st.button("Leave it", key=f"{state_key}_leave", on_click=_leave, args=(state_key,))
    return True


def _leave(state_key: str) -> None:
    st.session_state.pop(state_key, None)
    st.session_state.pop(f"{state_key}_edited", None)


def _edit(state_key: str) -> None:
    st.session_state[state_key] = {**st.session_state[state_key], "editing": True}


def ask(action: str, messages: list[dict], chat: ModelSpec, original: str, state_key: str, spec: ModelSpec,
        lengths: tuple[int, ...] | None = None, template: bool = False) -> None:  # fmt: skip
    """One help call; its answer (or why there is none) is kept for the field's next drawing."""
    found: dict = {"action": action, "original": original, "cost": ph.help_price(chat.id)}
    try:
        with st.spinner(f"Asking {chat.name}…"):
            answer = ph.PromptHelp(store()).ask(connection(), action, messages, chat.id)
        if action == "ideas":
            found["ideas"] = ph.read_ideas(answer.text)
            if template:  # only the ideas that keep the template's placeholders are offered
                kept = [idea for idea in found["ideas"] if _keeps_placeholders(idea, original)]
                if not kept:
                    ph.read_template(found["ideas"][0], original)  # says in words what was lost
                found["ideas"] = kept
        elif template:
            found["suggestion"] = ph.read_template(answer.text, original)
        elif action == "soften":
            found["suggestion"], found["changed"] = ph.read_softer(answer.text)
        elif action == "storyboard":
            found["shots"] = ph.read_storyboard(answer.text, spec, lengths)
        else:
            found["suggestion"] = ph.read_prompt(answer.text)
    except ph.HelpProblem as exc:
        found["problem"] = str(exc)
    st.session_state[state_key] = found


def _keeps_placeholders(idea: str, original: str) -> bool:
    try:
        ph.read_template(idea, original)
    except ph.HelpProblem:
        return False
    return True


def prompt_help(
    prompt_key: str,
    spec: ModelSpec | None,
    *,
    key: str,
    image: Callable[[], str | None] | None = None,
    template: bool = False,
    example: str = "",
) -> None:
    """The buttons and, after a click, the suggestion for the field ``prompt_key`` (drawn above).
    ``image`` gives the address of the reference picture to describe, when the form has one;
    ``template``: the field is a batch template, whose {placeholders} a suggestion must keep;
    ``example``: a prompt offered on "Use an example" while the field is empty (in the same row, so
    the form's button does not move), instead of grey text that looks filled in.
    No ``spec`` (no model chosen yet): the catalogue's first video model."""
    spec = spec or models("video")[0]
    chat, off = chat_model()
    state_key = f"{key}_prompt_help"
    prompt = (st.session_state.get(prompt_key) or "").strip()
    picture = image() if image is not None else None
    actions = list(PROMPT_ACTIONS) + (["describe"] if picture else [])
    row = st.container(horizontal=True, gap="small", key=f"{key}_help_row")  # one row, smaller on a phone (theme.py)
    if example and not prompt:
        row.button("Use an example", key=f"{key}_use_example", icon=":material/lightbulb:", type="tertiary",
                   help=f"Puts this in the prompt: {example}", on_click=_fill, args=(prompt_key, example))  # fmt: skip
    for action in actions:
        needs_text = action != "describe"
        clicked = row.button(
            ph.ACTIONS[action],
            key=f"{key}_help_{action}",
            disabled=off is not None or (needs_text and not prompt),
            help=(off or (f"{cost_words(chat)}; nothing is sent to a video or image model" if chat else None)),
            type="tertiary",
            icon=":material/auto_fix_high:" if action == "improve" else None,
        )
        if clicked and chat is not None:
            messages = {
                "improve": lambda: ph.improve_messages(prompt, spec, template=template),
                "translate": lambda: ph.translate_messages(prompt, template=template),
                "ideas": lambda: ph.ideas_messages(prompt, spec, template=template),
                "describe": lambda: ph.describe_messages(picture, spec),
            }[action]()
            ask(action, messages, chat, prompt, state_key, spec, template=template and action != "describe")
    if off:
        st.caption(f":material/cloud_off: {plain(off, 300)}")
    elif chat is not None:  # beside the buttons, so the form's own button stays in the first screen
        stand_in = " (the sandbox's rule-based stand-in)" if connection().is_sandbox else ""
        row.caption(f"Prompt help by {chat.name}{stand_in}: {cost_words(chat)}, only when you click")
    show_suggestion(prompt_key, state_key)


_MARKS = {"same": "{}", "removed": ":red-background[~~{}~~]", "added": ":green-background[{}]"}


def show_changes(original: str, suggestion: str) -> None:
    """What changed, word by word: taken out struck through in red, put in in green, the rest as it
    was; every word escaped, so typed or suggested text is shown as text."""
    shown = []
    for op, text in ph.diff_pieces(original, suggestion):
        body = text.lstrip()
        if body:
            shown.append(text[: len(text) - len(body)] + _MARKS[op].format(plain(body)))
    st.caption("What changed, word by word: struck through in red is taken out, in green is put in.")
    st.markdown("".join(shown).strip())


def show_suggestion(prompt_key: str, state_key: str) -> None:
    """The last help answer for this field: the suggestion with its differences, or the ideas, or
    why there is nothing to use; user and model text shown as text."""
    found = st.session_state.get(state_key)
    if not found:
        return
    with st.container(border=True, key=f"{state_key}_box"):
        if _said_problem(state_key, found):
            return
        label = ph.ACTIONS[found["action"]]
        st.caption(f"{label}: a suggestion ({costs.credits_text(found['cost'])} charged). Your prompt is unchanged until you take it.")
        if found.get("ideas"):
            for number, idea in enumerate(found["ideas"], start=1):
                st.text(f"{number}. {idea}")
                st.button(f"Use idea {number}", key=f"{state_key}_idea_{number}", on_click=_use,
                          args=(prompt_key, idea, state_key))  # fmt: skip
            st.button("Leave it", key=f"{state_key}_leave", on_click=_leave, args=(state_key,))
            return
        suggestion = found["suggestion"]
        if found.get("editing"):
            suggestion = st.text_area("Edit the suggestion", value=suggestion, key=f"{state_key}_edited", height=120)
        else:
            st.text(suggestion)
        if found.get("original"):
            show_changes(found["original"], suggestion)
        if found.get("changed"):
            st.caption(f"Why: {plain(found['changed'], 400)}")
        use = edit = leave = st.container(horizontal=True, gap="small")
        use.button("Use this", key=f"{state_key}_use", on_click=_use, args=(prompt_key, suggestion, state_key),
                   type="primary")  # fmt: skip
        edit.button("Edit", key=f"{state_key}_edit", on_click=_edit, args=(state_key,),
                    disabled=bool(found.get("editing")))  # fmt: skip
        leave.button("Leave it", key=f"{state_key}_leave", on_click=_leave, args=(state_key,))


def _plan_from_brief(brief_key: str, spec: ModelSpec, lengths: tuple[int, ...], state_key: str,
                     apply: Callable[[list[tuple[str, int]]], None]) -> None:  # fmt: skip
    """A callback: ask for shots, and put them in the plan before its widgets are drawn."""
    chat, off = chat_model()
    brief = (st.session_state.get(brief_key) or "").strip()
    if chat is None or off or not brief:
        return
    ask("storyboard", ph.storyboard_messages(brief, spec, lengths), chat, "", state_key, spec, lengths)
    found = st.session_state[state_key]
    if "shots" in found:
        apply(found["shots"])
        found["planned"] = len(found["shots"])


def brief_to_shots(spec: ModelSpec, *, key: str, lengths: tuple[int, ...],
                   apply: Callable[[list[tuple[str, int]]], None]) -> None:  # fmt: skip
    """"From a brief": a sentence becomes shots with prompts and lengths for ``spec`` (editable in
    the plan before anything is made); one chat call, at its stated price."""
    chat, off = chat_model()
    state_key = f"{key}_brief_help"
    with st.expander("From a brief", icon=":material/auto_awesome:"):
        st.text_area("Brief", key=f"{key}_brief", height=70,
                     placeholder="A 20-second ad for a trail sneaker, three shots")  # fmt: skip
        st.button(
            "Plan the shots", key=f"{key}_brief_go", on_click=_plan_from_brief,
            args=(f"{key}_brief", spec, lengths, state_key, apply), disabled=off is not None,
            help="Replaces the shots below with the planned ones; nothing is made until Make all",
        )  # fmt: skip
        if off:
            st.caption(f":material/cloud_off: {plain(off, 300)}")
        elif chat is not None:
            st.caption(f"Planned by {chat.name} for {spec.name}: {cost_words(chat)}. Edit the shots before Make all.")
        found = st.session_state.get(state_key)
        if found and found.get("problem"):
            st.warning(plain(found["problem"], 600), icon=":material/help:")
        elif found and found.get("planned"):
            st.caption(f":material/check: {found['planned']} shots planned below ({costs.credits_text(found['cost'])} charged).")


def _inputs_of(generation) -> tuple[bool, bool]:
    """Whether a generation sent a picture (start image, frames, references) and characters."""
    options = generation.options or {}
    has_image = bool(generation.image_ref) or any(
        options.get(k) for k in ("first_frame_url", "last_frame_url", "reference_urls")
    )
    return has_image, bool(generation.characters)


def _send_softer(generation_id: int, state_key: str) -> None:
    """The person's click: the refused request again with the softer prompt, as a new (charged)
    video; its request key makes a second click the same request."""
    found = st.session_state.get(state_key) or {}
    softer = found.get("suggestion")
    original = store().get(generation_id)
    if not softer or original is None:
        return
    digest = hashlib.sha256(softer.encode()).hexdigest()[:16]
    try:
        generation_service().submit({**original.request_params(), "prompt": softer},
                       request_key=f"softer-{generation_id}-{digest}", from_store=True)  # fmt: skip
    except InvalidRequestError as exc:
        st.session_state[state_key] = {**found, "problem": exc.message}
        return
    st.session_state[state_key] = {**found, "sent": True}


def softer_wording(generation) -> None:
    """After a refusal: which input was refused (from the reason and the service's text), and on a
    click a softer wording with what changed and why; sent again only on a second click, with the
    video's cost said again."""
    if not is_refusal(generation.failure_reason):
        return
    has_image, has_characters = _inputs_of(generation)
    refused = ph.refused_input(
        generation.failure_reason, generation.error, has_image=has_image, has_characters=has_characters
    )
    st.caption(f":material/policy: What was refused: {refused}.")
    spec = MODELS.get(generation.model)
    chat, off = chat_model()
    state_key = f"softer_{generation.id}"
    if spec is None or chat is None:
        return
    found = st.session_state.get(state_key)
    if not found:
        messages = ph.soften_messages(generation.prompt, spec, refused=refused, service_text=generation.error)
        st.button("Suggest a softer wording", key=f"{state_key}_ask", icon=":material/edit_note:",
                  on_click=ask, args=("soften", messages, chat, generation.prompt, state_key, spec),
                  disabled=off is not None, help=off or f"{cost_words(chat)}; nothing is sent again until you say")  # fmt: skip
        if off:
            st.caption(f":material/cloud_off: {plain(off, 300)}")
        return
    with st.container(border=True, key=f"{state_key}_box"):
        if _said_problem(state_key, found):
            return
        st.caption(f"A softer wording ({costs.credits_text(found['cost'])} charged for the suggestion):")
        st.text(found["suggestion"])
        show_changes(generation.prompt, found["suggestion"])
        st.caption(f"Why: {plain(found.get('changed') or '', 400)}")
        if found.get("sent"):
            st.success("Sent again with the softer wording: it is in the list above.", icon=":material/send:")
            return
        each = costs.price(generation.model)
        st.caption(
            f"Sending it makes a new video at {costs.credits_text(each)}; the refused one stays charged."
            if generation.cost else f"Sending it makes a new video at {costs.credits_text(each)}."
        )
        row = st.container(horizontal=True, gap="small")
        row.button(f"Send it ({costs.format_credits(each)} credits)", key=f"{state_key}_send", type="primary",
                   on_click=_send_softer, args=(generation.id, state_key))  # fmt: skip
        row.button("Leave it", key=f"{state_key}_leave", on_click=_leave, args=(state_key,))



def result_picture(generation, files) -> bytes | None:
    """The picture of a finished result a chat model can read: an image's first kept file, else a
    video's thumbnail (None when neither is in the media store)."""
    kept = files.present(generation.files) if generation.makes == "image" else []
    path = kept[0]["path"] if kept else generation.thumb_path
    if not path or not files.exists(path):
        return None
    try:
        return files.read(path)
    except (OSError, ValueError):
        return None


def describe_result(generation, files, *, key: str) -> str | None:
    """"Describe this picture" for a finished result: one chat call, on a click, that makes its
    picture a prompt. Returns the prompt once the person chose to use it (the page takes it to
    Generate or Images)."""
    spec = MODELS.get(generation.model)
    if spec is None or generation.status != "succeeded":
        return None
    chat, off = chat_model()
    state_key = f"{key}_describe"
    found = st.session_state.get(state_key)
    if not found:
        label = "Describe this picture" if generation.makes == "image" else "Describe a still of this video"
        clicked = st.button(label, key=f"{state_key}_ask", icon=":material/image_search:",
                            disabled=off is not None or chat is None, type="tertiary",
                            help=off or (f"Make a prompt of it: {cost_words(chat)}" if chat else None))  # fmt: skip
        if clicked and chat is not None:
            data = result_picture(generation, files)
            if data is None:
                st.session_state[state_key] = {"action": "describe", "cost": 0,
                                               "problem": "Its picture is no longer in the media folder."}  # fmt: skip
            else:
                ask("describe", ph.describe_messages(ph.picture_address(data), spec), chat, "", state_key, spec)
            found = st.session_state.get(state_key)
    if not found:
        return None
    if found.get("problem"):
        st.warning(plain(found["problem"], 600), icon=":material/help:")
        st.button("Leave it", key=f"{state_key}_leave", on_click=_leave, args=(state_key,))
        return None
    st.caption(f"Described as a prompt ({costs.credits_text(found['cost'])} charged):")
    st.text(found["suggestion"])
    row = st.container(horizontal=True, gap="small")
    where = "Images" if spec.kind == "image" else "Generate"
    use = row.button(f"Use it in {where}", key=f"{state_key}_use", type="primary")
    row.button("Leave it", key=f"{state_key}_leave", on_click=_leave, args=(state_key,))
    if use:
        st.session_state.pop(state_key, None)
        return found["suggestion"]
    return None
