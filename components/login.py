"""Who may use a shared studio. On one laptop the app listens on 127.0.0.1 only and needs no login.
A team server listens on the network and must have one of:

- an OIDC provider in ``.streamlit/secrets.toml`` (``[auth]``, Streamlit's ``st.login``), optionally
  with ``SORA_TEAM_EMAILS`` (comma-separated) naming who may enter;
- a shared password, ``SORA_TEAM_PASSWORD`` in the secrets or the environment. Wrong ones are
  counted in the store per client address (studio.db.logins): five are free, then the address waits,
  longer after each wrong one; a reload or another tab does not start the count again.

A studio that listens beyond loopback with neither shows only how to set one up: a team server is
never open to anyone on the network."""

from __future__ import annotations

import hmac
import ipaddress
import os
from datetime import datetime

import streamlit as st

from components.resources import store
from components.video import browser_zone, local_time

TEAM_ACCOUNT = "team"  # whose password is tried: the shared one (the store counts tries per account)


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


def client_address() -> str:
    """Who is typing, as well as the server can tell: the address a proxy in front of the studio saw
    (the last X-Forwarded-For entry, the one it added) when the connection comes from that proxy (this
    machine or a private network), else the connection's own address; "unknown" when Streamlit cannot
    say (a script, AppTest)."""
    try:
        peer = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For") or ""
    except Exception:  # noqa: BLE001 - no browser connection
        peer, forwarded = None, ""
    peer = peer if isinstance(peer, str) and peer else None  # AppTest has no connection to ask
    forwarded = forwarded if isinstance(forwarded, str) else ""
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if hops and (peer is None or _private(peer)) and _is_address(hops[-1]):
        return hops[-1]
    return peer or "unknown"


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _private(address: str) -> bool:
    try:
        found = ipaddress.ip_address(address)
    except ValueError:
        return False
    return found.is_loopback or found.is_private


def _paused_words(until: datetime) -> str:
    return (
        f"Too many wrong passwords from this address: try again after {local_time(until, '%H:%M:%S')} "
        f"({browser_zone()})."
    )


def _password(password: str) -> bool:
    if st.session_state.get("team_signed_in"):
        return True
    st.title("GrsAI studio")
    st.caption("This studio is shared by a team: enter its password.")
    tries, address = store(), client_address()
    with st.form("team_login"):
        typed = st.text_input("Team password", type="password", key="team_password")
        sent = st.form_submit_button("Enter", type="primary", icon=":material/login:")
    paused_until = tries.login_paused_until(address, TEAM_ACCOUNT)
    if paused_until is not None:  # said on every visit, a reload too; the password is not even read
        st.error(_paused_words(paused_until), icon=":material/timer:")
        return False
    if not sent:
        return False
    if typed and hmac.compare_digest(typed.encode(), password.encode()):
        tries.login_succeeded(address, TEAM_ACCOUNT)
        st.session_state["team_signed_in"] = True
        st.rerun()
    paused_until = tries.login_failed(address, TEAM_ACCOUNT)
    st.error("That is not the team's password.", icon=":material/lock:")
    if paused_until is not None:
        st.error(_paused_words(paused_until), icon=":material/timer:")
    return False
