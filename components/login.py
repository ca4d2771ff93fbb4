"""Who may use a shared studio. On one laptop the app listens on 127.0.0.1 only and needs no login.
A team server listens on the network and must have one of:

- an OIDC provider in ``.streamlit/secrets.toml`` (``[auth]``, Streamlit's ``st.login``), optionally
  with ``SORA_TEAM_EMAILS`` (comma-separated) naming who may enter;
- a shared password, ``SORA_TEAM_PASSWORD`` in the secrets or the environment.

A studio that listens beyond loopback with neither shows only how to set one up: a team server is
never open to anyone on the network."""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

import streamlit as st

MAX_TRIES = 5  # wrong passwords in a row before a pause
PAUSE_SECONDS = 30


def _secret(name: str) -> str | None:
    try:
        value = st.secrets.get(name)
    except Exception:  # noqa: BLE001 - no secrets file at all
        value = None
    value = value or os.environ.get(name)
    return str(value).strip() or None if value else None


def _has_oidc() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file
        return False


def listens_beyond_loopback(address: str | None) -> bool:
    """Whether Streamlit's ``server.address`` lets other machines in (unset means every interface)."""
    if not address:
        return True
    if address == "localhost":
        return False
    try:
        return not ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name: assume it is reachable


def signed_in() -> bool:
    """Draw what the visitor needs to enter (if anything) and say whether the pages may run."""
    if _has_oidc():
        return _oidc()
    password = _secret("SORA_TEAM_PASSWORD")
    if password:
        return _password(password)
    if listens_beyond_loopback(st.get_option("server.address")):
        st.title("GrsAI studio")
        st.error(
            "This studio listens on the network but has no login, so it does not open. Set "
            "SORA_TEAM_PASSWORD (in .streamlit/secrets.toml or the environment), or an OIDC provider "
            "under [auth] in .streamlit/secrets.toml, then restart it. On one machine, listen on "
            "127.0.0.1 (the default) instead.",
            icon=":material/lock:",
        )
        return False
    return True


def _oidc() -> bool:
    if not st.user.is_logged_in:
        st.title("GrsAI studio")
        st.caption("Sign in with your team account to use the studio.")
        st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login)
        return False
    allowed = {e.strip().lower() for e in (_secret("SORA_TEAM_EMAILS") or "").split(",") if e.strip()}
    email = str(st.user.get("email") or "").lower()
    if allowed and email not in allowed:
        st.title("GrsAI studio")
        st.error(f"{email or 'This account'} is not on this studio's team list.", icon=":material/block:")
        st.button("Sign out", on_click=st.logout)
        return False
    return True


def _password(password: str) -> bool:
    if st.session_state.get("team_signed_in"):
        return True
    st.title("GrsAI studio")
    st.caption("This studio is shared by a team: enter its password.")
    paused_until = st.session_state.get("team_paused_until", 0.0)
    with st.form("team_login"):
        typed = st.text_input("Team password", type="password", key="team_password")
        sent = st.form_submit_button("Enter", type="primary", icon=":material/login:")
    if not sent:
        return False
    if time.monotonic() < paused_until:
        st.error(f"Too many wrong passwords: try again in {PAUSE_SECONDS} seconds.", icon=":material/timer:")
        return False
    if typed and hmac.compare_digest(typed.encode(), password.encode()):
        st.session_state["team_signed_in"] = True
        st.session_state.pop("team_tries", None)
        st.rerun()
    tries = st.session_state.get("team_tries", 0) + 1
    st.session_state["team_tries"] = tries
    if tries >= MAX_TRIES:
        st.session_state["team_paused_until"] = time.monotonic() + PAUSE_SECONDS
        st.session_state["team_tries"] = 0
    st.error("That is not the team's password.", icon=":material/lock:")
    return False
