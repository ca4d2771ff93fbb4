"""Process-wide resources (st.cache_resource, never mutated) and the session's connection."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from sandbox import RunningSandbox
from studio.batch import BatchRunner, BatchService
from studio.config import AppConfig
from studio.connection import Connection, resolve_connection
from studio.generation import GenerationService
from studio.media import MediaStore
from studio.sandbox_host import start_sandbox
from studio.store import Store, default_url


def _secrets() -> dict:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises rather than returning nothing
        return {}


def app_config() -> AppConfig:
    return AppConfig.load(secrets=_secrets())


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    store = Store(url)
    store.expire_stale_submissions()
    return store


def store() -> Store:
    config = app_config()
    return _store(config.database_url or default_url(config.data_dir))


def media() -> MediaStore:
    return MediaStore(app_config().media_dir)


def _sandbox_alive(running: RunningSandbox) -> bool:
    return running.thread.is_alive() and not running.server.should_exit


@st.cache_resource(show_spinner="Starting the built-in sandbox…", validate=_sandbox_alive)
def _sandbox(data_dir: str, task_seconds: float) -> RunningSandbox:
    """Once per process; started again (same data, so its tasks resume) if it ever stops."""
    return start_sandbox(AppConfig(data_dir=Path(data_dir), sandbox_task_seconds=task_seconds))


def sandbox() -> RunningSandbox:
    config = app_config()
    return _sandbox(str(config.data_dir), config.sandbox_task_seconds)


def connection() -> Connection:
    """The connection chosen on Settings (this session), else the configured default."""
    config = app_config()
    choice = st.session_state.get("conn_choice")
    typed_key = st.session_state.get("conn_api_key") or None
    custom_url = st.session_state.get("conn_custom_url") or None
    return resolve_connection(
        config, choice, typed_key=typed_key, custom_url=custom_url, sandbox_url=lambda: sandbox().base_url
    )


@st.cache_resource(show_spinner=False)
def _batch_runner(url: str, media_dir: str) -> BatchRunner:
    """One per process: sends and follows batches in the background, whatever page is open."""
    return BatchRunner(_store(url), MediaStore(Path(media_dir)))


def batch_runner() -> BatchRunner:
    config = app_config()
    return _batch_runner(config.database_url or default_url(config.data_dir), str(config.media_dir))


def batch_service() -> BatchService:
    return BatchService(store(), media(), connection())


def generation_service() -> GenerationService:
    return GenerationService(store(), media(), connection())


@st.cache_data(ttl=20, show_spinner=False, max_entries=16)
def credits_left(_connection: Connection, cache_key: str) -> float | None:
    """The key's credits, cached briefly (``cache_key`` names the connection, never the key)."""
    try:
        with _connection.client(max_retries=0, timeout=5.0) as client:
            return client.credits()
    except Exception:
        return None


def credits_for(conn: Connection) -> float | None:
    return credits_left(conn, f"{conn.base_url}|{hash(conn.api_key)}")
