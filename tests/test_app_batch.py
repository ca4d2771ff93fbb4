"""The Batch page through AppTest: pasted rows -> preview -> cost -> start -> results and zip;
bad templates, rows past the balance, and a batch found again from a new session."""

from __future__ import annotations

import httpx
import pytest

from components.resources import credits_left
from sandbox.control import control_headers
from studio.config import SANDBOX_API_KEY
from studio.db import Store, default_url

from .apptest_helpers import (
    click,
    new_app,
    run_until,
    sandbox_counters,
    service_url,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
    widget,
)
from .seed import ready_character

ROWS = "product,colour,aspect_ratio\nTrail sneaker,red,16:9\nWater bottle,,9:16\nCoffee mug,sand,9:16\n"
TEMPLATE = "A {colour} {product} turning on a studio table"


@pytest.fixture
def app(tmp_path, monkeypatch):
    at = new_app(monkeypatch, tmp_path / "data")
    at.switch_page("app_pages/batch.py")
    at.run()
    assert not at.exception, at.exception
    return at


def paste(at, rows: str, template: str | None = None) -> None:
    widget(at, "batch_way").set_value("Paste rows")
    at.run()
    widget(at, "batch_paste").set_value(rows)
    at.run()
    if template is not None:
        widget(at, "batch_template").set_value(template)
        at.run()
    assert not at.exception, at.exception


def start_button(at):
    return next(b for b in at.button if b.label.startswith("Start ·"))


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_pasted_rows_are_previewed_checked_costed_and_made(app, tmp_path) -> None:
    paste(app, ROWS, TEMPLATE)
    preview = next(d.value for d in app.dataframe if "model" in d.value.columns)  # the plan, not the input
    assert list(preview["prompt"]) == [
        "A red Trail sneaker turning on a studio table",
        "A sand Coffee mug turning on a studio table",
    ]
    assert list(preview["aspect_ratio"]) == ["16:9", "9:16"]
    assert "1 row will be skipped and not sent" in texts(app)
    assert (
        "colour is empty" in next(d.value for d in app.dataframe if "reason" in d.value.columns)["reason"][0]
    )
    assert metric(app, "Videos") == "2" and metric(app, "Cost") == "3,200 credits"
    assert metric(app, "Credits left") == "2,000,000"
    assert start_button(app).label == "Start · 2 videos · 3,200 credits"
    assert sandbox_counters(app).get("received_video", 0) == 0  # nothing is sent before Start

    start_button(app).click()
    app.run()
    assert not app.exception, app.exception
    run_until(app, lambda at: "Finished" in at.get("progress")[0].text, timeout=40)
    assert metric(app, "Ready") == "2" and sandbox_counters(app)["accepted_video"] == 2
    results = app.dataframe[0].value
    assert list(results["row"]) == [1, 3] and list(results["status"]) == ["Ready", "Ready"]
    assert all(str(pid).startswith("s_") for pid in results["pid"])
    assert "Finished · 2 of 2 done" in [p.text for p in app.get("progress")][0]
    assert any("Download zip (2 videos" in d.proto.label for d in app.get("download_button"))
    assert "1 row of the table was skipped" in [e.label for e in app.expander][0]
    store = Store(default_url(tmp_path / "data"))
    [batch] = store.batches()
    assert batch.state == "done" and batch.settings["skipped"] == [
        {"row": 2, "reason": batch.settings["skipped"][0]["reason"]}
    ]


def test_a_template_naming_a_missing_column_is_explained_and_nothing_can_start(app) -> None:
    paste(app, ROWS, "A {color} {product}")
    assert "The template names {color}, which is not a column of the table" in texts(app)
    assert not [b for b in app.button if b.label.startswith("Start ·")]


def test_rows_without_a_prompt_or_template_ask_for_one(app) -> None:
    paste(app, "product\nmug\n")
    assert "Write the template to see the prompts." in texts(app)
    assert not [b for b in app.button if b.label.startswith("Start ·")]


def test_a_batch_past_the_balance_cannot_start_and_the_cap_defaults_to_what_is_affordable(app) -> None:
    httpx.post(
        f"{service_url(app)}/sandbox/credits",
        headers=control_headers(service_url(app)),
        json={"apiKey": SANDBOX_API_KEY, "credits": 20_000},
    ).raise_for_status()
    credits_left.clear()
    paste(app, "prompt\n" + "".join(f"A lamp number {n}\n" for n in range(30)))
    assert widget(app, "batch_limit").value == 12  # 12 × 1,600 = 19,200 of the 20,000 left
    assert start_button(app).disabled is False
    widget(app, "batch_limit").set_value(30)
    app.run()
    assert "This costs more than the 20,000 credits left" in texts(app)
    assert start_button(app).disabled is True
    assert sandbox_counters(app).get("received_video", 0) == 0


def test_a_new_session_finds_the_batch_and_its_results(app, tmp_path, monkeypatch) -> None:
    paste(app, "prompt\nA red kite over the sea\nA blue kite over a field\n")
    start_button(app).click()
    app.run()
    run_until(app, lambda at: metric(at, "Ready") == "2", timeout=40)

    fresh = new_app(monkeypatch, tmp_path / "data")  # another tab, or the same one after a refresh
    fresh.switch_page("app_pages/batch.py")
    fresh.run()
    assert "Earlier batches" in [h.value for h in fresh.subheader]
    assert "2 videos · 2 ready · 0 failed" in texts(fresh)
    next(b for b in fresh.button if b.label == "Open").click()
    fresh.run()
    assert list(fresh.dataframe[0].value["status"]) == ["Ready", "Ready"]
    assert sandbox_counters(fresh)["accepted_video"] == 2  # opening it again sends nothing


def test_a_paused_batch_says_what_waits_and_shows_no_time_left(app, tmp_path) -> None:
    """Issue 11 #6: pausing must be visible, and a paused batch promises no end time."""
    from studio.db import BatchState

    paste(app, ROWS, TEMPLATE)
    start_button(app).click()
    app.run()
    store = Store(default_url(tmp_path / "data"))
    try:
        [batch] = store.batches(5)
        store.set_batch(batch.id, state=BatchState.PAUSED)
    finally:
        store.dispose()
    app.run()
    progress = app.get("progress")[0].text
    assert progress.startswith("Paused ·") and "left" not in progress
    assert "Paused: the" in texts(app) and "nothing is charged for them" in texts(app)
    assert any(b.label == "Resume" for b in app.button)


def test_a_refused_row_is_counted_as_spent_and_retrying_it_says_its_price(app) -> None:
    """The service keeps a refusal's credits: the batch's spend counts it, and retrying refusals
    says what the new sends cost before the button is pressed."""
    paste(app, "prompt\nA red kite over the sea\nA kite dripping with gore\n")
    start_button(app).click()
    app.run()
    run_until(app, lambda at: "Finished" in at.get("progress")[0].text, timeout=40)
    assert "3,200 credits (¥0.16) spent" in texts(app)  # one made, one refused: both paid
    assert "Sending them again costs" not in texts(app)  # refusals are not retried unless asked
    widget(app, "batch_moderation_retries").set_value(1)
    app.run()
    assert (
        "Sending them again costs 1,600 credits (¥0.08); a refused try stays charged: "
        "the service does not refund refusals." in texts(app)
    )


def test_the_template_example_names_the_files_own_columns_and_the_speed_is_in_words(app) -> None:
    """The example template named {colour} {product} {slogan} whatever the file had; the speed
    control said "Sent at once"."""
    paste(app, "sku,name,finish\nA-1,Desk lamp,brass\nA-2,Floor lamp,black\n")
    assert "{" not in widget(app, "batch_template").placeholder.replace("{column}", "")  # no grey example
    offer = app.button(key="batch_use_example")
    assert "{name}" in offer.label and "{finish}" in offer.label
    assert not any(f"{{{c}}}" in offer.label for c in ("colour", "product", "slogan"))
    offer.click()
    app.run()
    assert widget(app, "batch_template").value == offer.label.removeprefix("Use an example: ")
    preview = next(d.value for d in app.dataframe if "model" in d.value.columns)  # as they will be sent
    assert preview["prompt"][0] == "A short video of Desk lamp (A-1, brass) on a studio table, soft light"
    widget(app, "batch_template").set_value("A {finish} {name} on a desk")
    app.run()
    assert not [b for b in app.button if b.key == "batch_use_example"]  # offered only while empty
    speed = widget(app, "batch_concurrency")
    assert speed.label == "Videos made at the same time" and "Sent at once" not in speed.label


def test_a_template_names_a_character_as_people_named_it_and_the_row_sends_its_handle(app, tmp_path) -> None:
    account = app.session_state["connection"].account
    ready_character(Store(default_url(tmp_path / "data")), "Goldie", "swift_maple.82dc77", account=account)
    paste(app, "name,finish\nDesk lamp,brass\n", template="A {finish} {name}, then @go")
    assert "Characters: @Goldie" in texts(app)  # offered as one types @
    click(app, "@Goldie")
    assert widget(app, "batch_template").value == "A {finish} {name}, then @Goldie "
    preview = next(d.value for d in app.dataframe if "model" in d.value.columns)  # as they will be sent
    assert preview["prompt"][0] == "A brass Desk lamp, then @swift_maple.82dc77"
