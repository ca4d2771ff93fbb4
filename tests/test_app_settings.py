"""Settings, through AppTest: switch connection, use a typed key, test it, tune the sandbox."""

from __future__ import annotations

import httpx

from grsai_api import MODELS
from sandbox.control import control_headers

from .apptest_helpers import (
    beside,
    generate,
    new_app,
    run_until,
    service_url,
    sidebar_text,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
    widget,
)

KEY = "sk-team-key-42"


def settings_page(monkeypatch, tmp_path):
    at = new_app(monkeypatch, tmp_path / "data")
    at.switch_page("app_pages/settings.py")
    at.run()
    return at


def click(at, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception, at.exception


def test_a_live_service_without_a_key_stays_on_the_sandbox_and_says_why(monkeypatch, tmp_path) -> None:
    at = settings_page(monkeypatch, tmp_path)
    widget(at, "settings_connection").set_value("overseas")
    at.run()
    assert "GrsAI overseas needs an API key: using the sandbox" in texts(at)
    assert at.session_state["connection"].is_sandbox and "Sandbox" in sidebar_text(at)


def test_a_custom_service_with_a_typed_key_connects_and_the_key_is_never_shown(
    monkeypatch, tmp_path, make_sandbox
) -> None:
    service = make_sandbox(api_keys=(KEY,), credits=12_500)
    at = settings_page(monkeypatch, tmp_path)
    widget(at, "settings_connection").set_value("custom")
    at.run()
    widget(at, "settings_custom_url").set_value(service.base_url)
    widget(at, "settings_api_key").set_value(KEY)
    at.run()
    assert service_url(at) == service.base_url and not at.session_state["connection"].is_sandbox
    click(at, "Test connection")
    assert f"12,500 credits left; {len(MODELS)} of {len(MODELS)} models up" in texts(at)
    assert at.sidebar.metric[0].value == "12,500"
    page = (
        texts(at) + sidebar_text(at) + repr([w.value for w in at.text_input if w.key != "settings_api_key"])
    )
    assert KEY not in page
    at.switch_page("app_pages/generate.py")  # the choice outlives the page that set it
    at.run()
    assert service_url(at) == service.base_url
    generate(at, "a kite made with the typed key")  # the app's engine sends it with that key

    def accepted(_) -> int:
        return (
            httpx.get(f"{service.base_url}/sandbox/stats", headers=service.control_headers)
            .json()["counters"]
            .get("accepted_video", 0)
        )

    run_until(at, accepted)
    assert accepted(at) == 1 and "1 video is being made" in sidebar_text(at)


def test_a_wrong_key_is_reported_without_showing_it(monkeypatch, tmp_path, make_sandbox) -> None:
    service = make_sandbox(api_keys=(KEY,))
    at = settings_page(monkeypatch, tmp_path)
    widget(at, "settings_connection").set_value("custom")
    at.run()
    widget(at, "settings_custom_url").set_value(service.base_url)
    widget(at, "settings_api_key").set_value("sk-wrong-0000")
    at.run()
    click(at, "Test connection")
    error = "\n".join(e.value for e in at.error)
    assert "The API key was refused" in error and "sk-wrong-0000" not in error


def test_a_custom_url_that_is_not_a_url_is_explained(monkeypatch, tmp_path) -> None:
    at = settings_page(monkeypatch, tmp_path)
    widget(at, "settings_connection").set_value("custom")
    at.run()
    widget(at, "settings_custom_url").set_value("grsai dot com")
    at.run()
    assert "not a web address" in "\n".join(e.value for e in at.error)
    assert at.session_state["connection"].is_sandbox


def test_the_sandbox_knobs_change_the_running_sandbox(monkeypatch, tmp_path) -> None:
    at = settings_page(monkeypatch, tmp_path)
    at.slider[0].set_value(9)  # seconds to make a video
    at.text_input[-1].set_value("nsfw, forbidden")
    next(b for b in at.button if b.label == "Apply").click()
    at.run()
    knobs = httpx.get(f"{service_url(at)}/sandbox/config", headers=control_headers(service_url(at))).json()
    assert knobs["task_seconds"] == 9 and knobs["blocklist"] == ["nsfw", "forbidden"]


def test_a_price_saved_for_the_deployment_is_the_price_generate_shows(tmp_path, monkeypatch) -> None:
    from studio import costs
    from studio.db import Store, default_url

    from .apptest_helpers import new_app

    at = new_app(monkeypatch, tmp_path / "data")
    at.switch_page("app_pages/settings.py")
    at.run()
    statuses = at.dataframe[0].value
    assert "Veo 3.1 Fast · 720p" in statuses["Model"].tolist() and set(statuses["Status"]) == {"Up"}
    assert len(at.dataframe) >= 2  # and the price table
    store = Store(default_url(tmp_path / "data"))
    try:
        costs.save(store, {**costs.DEFAULT_PRICES, "sora-2": 2_000})  # what "Save prices" writes
        at.switch_page("app_pages/generate.py")
        at.run()
        assert "2,000 credits (¥0.10)" in "\n".join(m.value for m in at.markdown)
    finally:
        costs.save(store, dict(costs.DEFAULT_PRICES))
        store.dispose()


def test_the_credits_a_yuan_set_in_settings_are_the_yuan_generate_shows(tmp_path, monkeypatch) -> None:
    """The pack the team bought sets the rate (¥10 for 100,000 credits: 10,000 a ¥); a rate that is
    not a positive whole number is explained beside its field and nothing is saved."""
    from studio import costs
    from studio.db import Store, default_url

    at = settings_page(monkeypatch, tmp_path)
    assert widget(at, "settings_credits_per_yuan").value == "20,000"
    store = Store(default_url(tmp_path / "data"))
    try:
        for bad in ("0", "12.5", "ten thousand", "-3"):
            widget(at, "settings_credits_per_yuan").set_value(bad)
            at.run()
            assert "a positive whole number of credits" in beside(at, "settings_credits_per_yuan"), bad
            assert next(b for b in at.button if b.label == "Save rate").disabled
        assert costs.credits_per_yuan() == 20_000 and store.get_setting(costs.RATE_SETTING) is None
        widget(at, "settings_credits_per_yuan").set_value("10,000")
        at.run()
        assert beside(at, "settings_credits_per_yuan") == ""
        click(at, "Save rate")
        assert "¥0.16" in at.dataframe[1].value["≈ ¥"].tolist()  # sora-2's 1,600 credits
        at.switch_page("app_pages/generate.py")
        at.run()
        assert "This video costs **1,600 credits (¥0.16)**" in "\n".join(m.value for m in at.markdown)
    finally:
        costs.save_rate(store, costs.DEFAULT_CREDITS_PER_YUAN)
        store.dispose()


def test_a_live_service_that_does_not_answer_is_not_shown_as_connected(tmp_path, monkeypatch) -> None:
    """Issue 11: an unreachable live service showed a green badge."""
    import socket

    from .apptest_helpers import new_app, sidebar_text

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    at = new_app(monkeypatch, tmp_path / "data", GRSAI_API_KEY="sk-live-but-unreachable", GRSAI_BASE_URL=dead)
    said = sidebar_text(at)
    assert "not answering" in said and "did not answer just now" in said


def test_a_refused_key_is_said_to_be_refused_not_a_service_that_does_not_answer(
    tmp_path, monkeypatch, make_sandbox
) -> None:
    """The service answered "apikey error", and the sidebar said it was not answering (and that work
    would be sent when it did), beside a card saying the key is refused: one of them was untrue."""
    from .apptest_helpers import generate, new_app, sidebar_text

    service = make_sandbox(api_keys=(KEY,))
    at = new_app(monkeypatch, tmp_path / "data", GRSAI_API_KEY="sk-wrong-key-ZZ9876", GRSAI_BASE_URL=service.base_url)
    said = sidebar_text(at)
    assert "key refused" in said and "refused this API key" in said and "Settings" in said, said
    assert "not answering" not in said and "did not answer" not in said
    assert "ZZ9876" not in said
    generate(at, "A kite that cannot be sent")
    said = sidebar_text(at)
    assert "1 video waiting: the service refused the key" in said and "being made" not in said, said
    assert "1 video waiting: the service refused the key" in texts(at)  # Generate's list says the same


def _inputs_in_order(block, inside: str = "") -> list[tuple[str, str]]:
    """Every input of the page in drawing order, as (its label, the expander it sits in or "")."""
    from streamlit.testing.v1.element_tree import Block, Widget

    found = []
    for position in sorted(block.children):
        child = block.children[position]
        if isinstance(child, Widget) and child.type not in ("button", "form_submit_button"):
            found.append((child.label, inside))
        elif isinstance(child, Block):
            label = getattr(child, "label", None) if child.type == "expander" else None
            found += _inputs_in_order(child, label or inside)
    return found


def test_the_connection_and_key_come_first_and_storage_and_fault_knobs_sit_under_advanced(
    monkeypatch, tmp_path
) -> None:
    """Issue 20 (9): a marketer opens Settings for the key; database paths, media folders and the
    sandbox's fault knobs are for whoever runs the deployment, folded under "Advanced"."""
    at = settings_page(monkeypatch, tmp_path)
    widget(at, "settings_connection").set_value("overseas")
    at.run()
    inputs = _inputs_in_order(at.main)
    assert [label for label, _ in inputs[:2]] == ["Service", "API key"]
    at = settings_page(monkeypatch, tmp_path)  # on the sandbox: its knobs are shown
    inputs = _inputs_in_order(at.main)
    where = dict(inputs)
    for knob in ("Seconds to make a video", "Share that fail with an error", "Share of requests answered 429"):
        assert where[knob] == "Advanced", knob
    assert inputs[0] == ("Service", "")
    advanced = next(e for e in at.expander if e.label == "Advanced")
    stored = "\n".join(m.value for m in advanced.markdown)
    assert "Database:" in stored and "Media folder:" in stored
    outside = [m.value for m in at.main.markdown if m not in list(advanced.markdown)]
    assert not any("Database:" in value for value in outside)


def test_sandbox_knobs_that_cannot_be_read_leave_the_rest_of_settings_working(monkeypatch, tmp_path) -> None:
    """Seen at 1400 px after a while on one server: the sandbox refused this process's control
    token, and the whole Settings page ended in "Something went wrong here" under Advanced (the
    storage lines were gone). Now the knobs say why they are not shown and the rest is drawn."""
    from sandbox import control

    at = settings_page(monkeypatch, tmp_path)
    url = service_url(at)
    token = control_headers(url)[control.HEADER]
    control.forget(url)  # this process no longer knows the sandbox's token
    try:
        at.run()
    finally:
        control.remember(url, token)
    assert not at.exception, at.exception
    said = texts(at)
    assert "Something went wrong" not in said
    assert "The sandbox's demo knobs cannot be read right now" in said
    assert "generations stored" in said or "generation stored" in said
