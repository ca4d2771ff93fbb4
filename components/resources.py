"""Process-wide resources: built once per process with st.cache_resource, never mutated."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from sandbox import RunningSandbox
from studio.config import AppConfig
from studio.connection import Connection, live_connection, sandbox_connection
from studio.sandbox_host import start_sandbox


def _secrets() -> dict:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises rather than returning nothing
        return {}


def app_config() -> AppConfig:
    return AppConfig.load(secrets=_secrets())


@st.cache_resource(show_spinner="Starting the built-in sandbox…")
def _sandbox(data_dir: str, task_seconds: float) -> RunningSandbox:
    return start_sandbox(AppConfig(data_dir=Path(data_dir), sandbox_task_seconds=task_seconds))


def connection() -> Connection:
    """GrsAI when a key is configured; otherwise the sandbox, started once per process."""
    config = app_config()
    live = live_connection(config)
    if live is not None:
        return live
    running = _sandbox(str(config.data_dir), config.sandbox_task_seconds)
    return sandbox_connection(running.base_url)


@st.cache_data(ttl=15, show_spinner=False)
def credits_left(_connection: Connection, cache_key: str) -> float | None:
    try:
        with _connection.client(max_retries=0, timeout=5.0) as client:
            return client.credits()
    except Exception:
        return None
