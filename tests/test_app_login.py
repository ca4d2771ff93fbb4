"""Who may use a shared studio (issue 9): the team password, and no studio open on the network
without a login. On one machine (127.0.0.1, the default) nothing is asked."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import update
from streamlit import config as st_config

from components import login
from components.login import listens_beyond_loopback
from studio.db import Store, default_url, utcnow
from studio.db.models import LoginTries

from .apptest_helpers import new_app, stop_engines, texts  # noqa: F401 - autouse: stops engines


@pytest.fixture
def address():
    before = st_config.get_option("server.address")
    yield lambda value: st_config.set_option("server.address", value)
    st_config.set_option("server.address", before)


def password_form(at):
    return [w for w in at.text_input if w.key == "team_password"]


def test_a_team_password_is_asked_before_any_page_and_a_wrong_one_is_refused(monkeypatch, tmp_path) -> None:
    at = new_app(monkeypatch, tmp_path / "data", SORA_TEAM_PASSWORD="correct horse battery")
    assert password_form(at) and not at.text_area  # no prompt box, no page behind it
    assert "Credits left" not in texts(at)
    password_form(at)[0].set_value("wrong")
    at.button[0].click()
    at.run()
    assert "That is not the team's password." in texts(at) and not at.text_area
    password_form(at)[0].set_value("correct horse battery")
    at.button[0].click()
    at.run()
    assert not at.exception and not password_form(at)
    assert any(w.key == "generate_prompt" for w in at.text_area)  # in: Generate is drawn
    assert "correct horse battery" not in texts(at)


def test_five_wrong_passwords_pause_the_next_tries(monkeypatch, tmp_path) -> None:
    at = new_app(monkeypatch, tmp_path / "data", SORA_TEAM_PASSWORD="s3cret-team")
    for _ in range(5):
        password_form(at)[0].set_value("guess")
        at.button[0].click()
        at.run()
    password_form(at)[0].set_value("s3cret-team")  # even the right one waits out the pause
    at.button[0].click()
    at.run()
    assert "Too many wrong passwords" in texts(at) and password_form(at)


def test_the_pause_outlives_a_reload_says_until_when_and_a_right_password_after_it_clears_it(
    monkeypatch, tmp_path
) -> None:
    """Issue 23 #3: the tries were counted in the session, so a reload gave five more. They are kept
    in the store per client address: a new session (a reload) is still paused and says until when."""
    data = tmp_path / "data"
    at = new_app(monkeypatch, data, SORA_TEAM_PASSWORD="s3cret-team")
    for _ in range(5):
        password_form(at)[0].set_value("guess")
        at.button[0].click()
        at.run()
    reloaded = new_app(monkeypatch, data, SORA_TEAM_PASSWORD="s3cret-team")
    words = texts(reloaded)
    assert "Too many wrong passwords from this address: try again after " in words
    kept = Store(default_url(data))
    try:
        until = kept.login_paused_until("unknown", "team")  # AppTest has no client address
        assert until is not None and f"after {until.strftime('%H:%M:%S')} (UTC)" in words  # the browser's zone
        password_form(reloaded)[0].set_value("s3cret-team")  # even the right one waits
        reloaded.button[0].click()
        reloaded.run()
        assert password_form(reloaded) and not any(w.key == "generate_prompt" for w in reloaded.text_area)

        with kept.db_engine.begin() as connection:  # the pause is over
            connection.execute(update(LoginTries).values(paused_until=utcnow() - timedelta(seconds=1)))
        later = new_app(monkeypatch, data, SORA_TEAM_PASSWORD="s3cret-team")
        password_form(later)[0].set_value("s3cret-team")
        later.button[0].click()
        later.run()
        assert not password_form(later) and any(w.key == "generate_prompt" for w in later.text_area)
        assert kept.login_failed("unknown", "team") is None  # cleared: five free tries again
    finally:
        kept.dispose()


@pytest.mark.parametrize(
    ("peer", "forwarded", "address"),
    [
        ("93.184.216.34", None, "93.184.216.34"),
        ("93.184.216.34", "10.9.9.9", "93.184.216.34"),  # a header from the open internet is not believed
        (None, "198.51.100.4", "198.51.100.4"),  # a proxy on this machine says who it serves
        ("10.0.0.2", "1.2.3.4, 198.51.100.4", "198.51.100.4"),  # the hop our proxy added, not the client's own
        (None, "not an address", "unknown"),
        (None, None, "unknown"),
    ],
)
def test_the_client_address_is_the_one_the_studios_own_proxy_saw(monkeypatch, peer, forwarded, address) -> None:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    monkeypatch.setattr(login.st, "context", SimpleNamespace(ip_address=peer, headers=headers))
    assert login.client_address() == address


def test_a_studio_on_the_network_without_a_login_does_not_open(monkeypatch, tmp_path, address) -> None:
    address("0.0.0.0")
    at = new_app(monkeypatch, tmp_path / "data")
    assert "listens on the network but has no login, so it does not open" in texts(at)
    assert not at.text_area and not at.button


def test_on_this_machine_no_login_is_asked(monkeypatch, tmp_path, address) -> None:
    address("127.0.0.1")
    at = new_app(monkeypatch, tmp_path / "data")
    assert any(w.key == "generate_prompt" for w in at.text_area) and not password_form(at)


@pytest.mark.parametrize(
    ("value", "open_to_others"),
    [
        ("127.0.0.1", False),
        ("localhost", False),
        ("::1", False),
        ("0.0.0.0", True),
        ("", True),
        ("10.0.0.5", True),
        ("studio.example.com", True),
    ],
)
def test_which_addresses_let_other_machines_in(value, open_to_others) -> None:
    assert listens_beyond_loopback(value) is open_to_others
