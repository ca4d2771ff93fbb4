"""Prompt help against the sandbox over real HTTP: each action's answer, what it cost (charged by the
sandbox, recorded in the store, counted by Store.spent and Insights), that no video or image create
is ever sent, replies that cannot be read said in words, and which input a refusal was about."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from grsai_api import MODELS
from sandbox.control import control_headers
from studio.connection import sandbox_connection
from studio.db import FailureReason, LibraryFilter, Store
from studio.insights import Insights
from studio.prompt_help import (
    HelpProblem,
    PromptHelp,
    chosen_chat_model,
    describe_messages,
    diff_text,
    help_price,
    ideas_messages,
    improve_messages,
    read_ideas,
    read_prompt,
    read_softer,
    read_storyboard,
    refused_input,
    soften_messages,
    storyboard_messages,
    translate_messages,
)
from tests.conftest import png, stats

CHAT = "gemini-3-flash"
VEO, IMAGE = MODELS["veo3.1-fast"], MODELS["nano-banana-2"]


@pytest.fixture
def quick(make_sandbox):
    return make_sandbox()


@pytest.fixture
def helper(quick, tmp_path):
    store = Store(f"sqlite:///{(tmp_path / 'store.db').as_posix()}")
    yield PromptHelp(store), sandbox_connection(quick.base_url)
    store.dispose()


def balance(running) -> int:
    with sandbox_connection(running.base_url).client() as client:
        return int(client.credits())


def creates(running) -> dict:
    """Every create the sandbox received, by kind, and by model: chat is not a create."""
    counters = stats(running)["counters"]
    made = {k: v for k, v in counters.items() if k.startswith("received_") and k != "received_chat"}
    return {"received": made, "by_model": stats(running)["creates_by_model"]}


def ask(helper, action, messages, model=CHAT):
    service, connection = helper
    return service.ask(connection, action, messages, model)


def test_improve_adds_camera_light_and_motion_for_video_and_composition_for_images(helper):
    video = read_prompt(ask(helper, "improve", improve_messages("a red kite over the sea", VEO)).text)
    assert video.lower().startswith("a red kite over the sea")
    assert all(word in video for word in ("camera", "light", "motion"))
    picture = read_prompt(ask(helper, "improve", improve_messages("a teapot on a table", IMAGE)).text)
    assert "composition" in picture and "camera" not in picture


def test_the_sandbox_keeps_to_the_length_the_request_states(quick):
    body = {"role": "system", "content": "You improve prompts for a video model. Keep it at most 40 characters."}
    with sandbox_connection(quick.base_url).client() as client:
        reply = client.chat(messages=[body, {"role": "user", "content": "a red kite over the sea"}], model=CHAT)
    assert 0 < len(reply.text) <= 40 and reply.text.startswith("A red kite")


def test_translate_to_english_three_ideas_and_a_described_picture(helper):
    english = read_prompt(ask(helper, "translate", translate_messages("un chat sur la plage")).text)
    assert english == "A cat on the beach"
    ideas = read_ideas(ask(helper, "ideas", ideas_messages("a cat on a beach", VEO)).text)
    assert len(ideas) == 3 and len(set(ideas)) == 3 and all("cat on a beach" in idea for idea in ideas)
    picture = "data:image/png;base64," + base64.b64encode(png((30, 80, 220), (120, 60))).decode()
    described = read_prompt(ask(helper, "describe", describe_messages(picture, IMAGE)).text)
    assert "120x60" in described and "blue" in described


def test_a_softer_wording_drops_the_blocked_words_and_says_what_changed(helper):
    messages = soften_messages(
        "a fox covered in gore", VEO, refused="the prompt", service_text="input_moderation: prompt refused"
    )
    prompt, changed = read_softer(ask(helper, "soften", messages).text)
    assert "gore" not in prompt and prompt.startswith("a fox covered in")
    assert "gore" in changed and "block list" in changed


def test_a_brief_becomes_shots_of_lengths_the_model_makes(helper):
    reply = ask(helper, "storyboard", storyboard_messages("a 20-second ad for a trail sneaker, three shots", VEO))
    shots = read_storyboard(reply.text, VEO)
    assert len(shots) == 3
    assert all("trail sneaker" in prompt and seconds in VEO.durations for prompt, seconds in shots)
    sora = MODELS["sora-2"]  # lengths of 10 or 15 s only: the example's 8 s in the request is not one
    shots = read_storyboard(ask(helper, "storyboard", storyboard_messages("a kite, two shots", sora)).text, sora)
    assert [seconds for _, seconds in shots] == [10, 10]


def test_every_help_call_is_charged_recorded_and_counted_and_no_create_is_sent(helper, quick):
    service, connection = helper
    before = balance(quick)
    picture = "data:image/png;base64," + base64.b64encode(png()).decode()
    for action, messages in [
        ("improve", improve_messages("a red kite", VEO)),
        ("translate", translate_messages("un chien")),
        ("ideas", ideas_messages("a red kite", IMAGE)),
        ("describe", describe_messages(picture, IMAGE)),
        ("soften", soften_messages("gore", VEO, refused="the prompt", service_text=None)),
        ("storyboard", storyboard_messages("two shots of a kite", VEO)),
    ]:
        assert ask(helper, action, messages).cost == help_price(CHAT) > 0
    assert before - balance(quick) == 6 * help_price(CHAT)  # the sandbox charged the catalogue's price
    assert service.store.spent() == 6 * help_price(CHAT)  # the one spending figure counts them
    assert [c.action for c in service.store.chat_calls()] == [
        "improve", "translate", "ideas", "describe", "soften", "storyboard"
    ]
    assert {c.account for c in service.store.chat_calls()} == {connection.account}
    daily = Insights.load(service.store, LibraryFilter()).daily()
    assert daily.loc[daily["model"] == "Prompt help (chat)", "credits"].sum() == 6 * help_price(CHAT)
    assert creates(quick) == {"received": {}, "by_model": {}}


def test_a_chat_model_that_is_down_is_said_in_words_and_nothing_is_recorded(helper, quick):
    httpx.patch(
        f"{quick.base_url}/sandbox/config",
        headers=control_headers(quick.base_url),
        json={"models": {CHAT: {"available": False, "message": "maintenance"}}},
    ).raise_for_status()
    service, _ = helper
    with pytest.raises(HelpProblem, match="unavailable"):
        ask(helper, "improve", improve_messages("a kite", VEO))
    assert service.store.spent() == 0 and service.store.chat_calls() == []
    assert chosen_chat_model(None, frozenset({"gpt-5.4"})).id == "gpt-5.4"  # the first chat model up
    assert chosen_chat_model("gemini-3.1-pro", frozenset()).id == "gemini-3.1-pro"  # Settings' choice stays


def test_replies_that_cannot_be_read_are_said_in_words():
    with pytest.raises(HelpProblem, match="not the list of shots"):
        read_storyboard("Here are your shots: one, two", VEO)
    with pytest.raises(HelpProblem, match="lasts 5 s; Veo 3.1 Fast · 720p makes 4, 6, 8 s"):
        read_storyboard(json.dumps({"shots": [{"prompt": "a kite", "seconds": 5}]}), VEO)
    with pytest.raises(HelpProblem, match="Shot 2 of the reply has no prompt"):
        read_storyboard(json.dumps([{"prompt": "a", "seconds": 8}, {"prompt": " ", "seconds": 8}]), VEO)
    with pytest.raises(HelpProblem, match="at most 12"):
        read_storyboard(json.dumps([{"prompt": "a", "seconds": 8}] * 13), VEO)
    with pytest.raises(HelpProblem, match="no numbered ideas"):
        read_ideas("Sure! A kite, a cat or a boat.")
    with pytest.raises(HelpProblem, match="nothing to use"):
        read_prompt("  ```\n```  ")
    assert read_storyboard('```json\n{"shots": [{"prompt": "a kite", "seconds": 6}]}\n```', VEO) == [("a kite", 6)]


def test_the_differences_are_word_by_word_text():
    assert diff_text("a red kite", "a big red kite, slowly") == "a [+big+] red kite[+, slowly+]"
    # punctuation is a word of its own: "sun" is kept, only what follows it is new
    assert diff_text("the setting of the sun", "the setting of the sun; camera slowly dollies in.") == (
        "the setting of the sun[+; camera slowly dollies in.+]"
    )
    assert diff_text("a fox covered in gore at dawn", "a fox covered in dramatic shadows at dawn") == (
        "a fox covered in [-gore-] [+dramatic shadows+] at dawn"
    )
    assert diff_text("a <b>red</b> kite", "a kite") == "a [-<b>red</b>-] kite"


@pytest.mark.parametrize(
    ("reason", "said", "has_image", "has_characters", "refused"),
    [
        ("input_moderation", "prompt contains blocked content", False, False, "the prompt"),
        ("input_moderation", "the reference image was flagged", True, False, "a reference image"),
        ("input_moderation", "the reference image was flagged", False, False, "the prompt"),  # none was sent
        ("violation", "cameo character @sunny.fox not allowed", False, True, "a character"),
        ("violation", "content policy violation", True, True, "the prompt"),
        ("output_moderation", "video withheld", True, False, "the finished video (made from the prompt)"),
    ],
)
def test_a_refusal_names_the_input_it_was_about(reason, said, has_image, has_characters, refused):
    assert refused_input(reason, said, has_image=has_image, has_characters=has_characters) == refused



@pytest.mark.parametrize("reason", list(FailureReason), ids=str)
def test_every_failure_reason_either_names_the_refused_input_or_claims_none(reason):
    """A content refusal names what was refused, whatever the service said; any other failure (an
    error, a request turned down before processing, a file not copied) was no refusal of an input, so
    nothing is named and no softer wording is offered for it."""
    named = refused_input(reason, "the reference image of @sunny.fox", has_image=True, has_characters=True)
    if reason.is_moderation:
        assert named in ("a reference image", "the finished video (made from the prompt)")
    else:
        assert named is None


def test_a_help_call_counts_the_price_table_as_edited_in_settings(helper):
    from studio import costs

    service, _ = helper
    try:
        costs.save(service.store, {**costs.DEFAULT_PRICES, CHAT: 35})
        assert ask(helper, "improve", improve_messages("a kite", VEO)).cost == 35
        assert service.store.spent() == 35 and service.store.chat_calls()[0].cost == 35
    finally:
        costs.save(service.store, dict(costs.DEFAULT_PRICES))


def test_a_template_suggestion_must_keep_its_placeholders(helper):
    from studio.prompt_help import read_template

    template = "un {colour} chat sur la plage, {product}"
    english = read_template(ask(helper, "translate", translate_messages(template, template=True)).text, template)
    assert english == "A {colour} cat on the beach, {product}"  # the stand-in keeps them as written
    improved = read_template(ask(helper, "improve", improve_messages(template, VEO, template=True)).text, template)
    assert "{colour}" in improved and "{product}" in improved
    with pytest.raises(HelpProblem, match=r"it lost \{product\}.*each row fills"):
        read_template("A {colour} cat on the beach", template)
    with pytest.raises(HelpProblem, match=r"it added \{size\}"):
        read_template("A {colour} {size} cat, {product}", template)
    with pytest.raises(HelpProblem, match="broke the template's braces"):
        read_template("A {colour cat, {product}", template)


def test_a_help_call_whose_answer_never_came_is_counted_as_maybe_charged(make_sandbox, tmp_path):
    """The service charged the call, then took longer than the studio waits: the call is recorded at
    its price as unknown (it may have been charged), so the spending figure and Insights count it,
    and the words say so; nothing is sent again by itself."""
    slow = make_sandbox(chat_latency_ms=1500)
    store = Store(f"sqlite:///{(tmp_path / 'slow.db').as_posix()}")
    try:
        service = PromptHelp(store, timeout=0.3)
        before = balance(slow)
        with pytest.raises(HelpProblem, match="did not answer in time.*may have been charged"):
            service.ask(sandbox_connection(slow.base_url), "improve", improve_messages("a kite", VEO), CHAT)
        assert before - balance(slow) == help_price(CHAT)  # the service did charge it
        assert stats(slow)["counters"]["received_chat"] == 1  # asked once, not again by itself
        [call] = store.chat_calls()
        assert (call.action, call.cost, call.status) == ("improve", help_price(CHAT), "unknown")
        assert store.spent() == help_price(CHAT)
        daily = Insights.load(store, LibraryFilter()).daily()
        assert daily.loc[daily["model"] == "Prompt help (chat)", "credits"].sum() == help_price(CHAT)
        assert daily.loc[daily["model"] == "Prompt help (chat)", "made"].sum() == 0  # no answer came
    finally:
        store.dispose()
