"""Process-wide resources (st.cache_resource, never mutated) and the session's connection."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import streamlit as st

from grsai_api import AuthenticationError
from sandbox import RunningSandbox
from studio.availability import ModelBoard
from studio.availability import ask as ask_models
from studio.batch import BatchService
from studio.characters import CharacterService
from studio.config import AppConfig
from studio.connection import Connection, resolve_connection
from studio.db import Store, default_url
from studio.engine import EngineSettings, PollPolicy, TaskEngine
from studio.engine.webhooks import serve_webhooks
from studio.generation import GenerationService
from studio.media import MediaStore, open_media
from studio.sandbox_host import sandbox_id, start_sandbox
from studio.storyboard import StoryboardService


def _secrets() -> dict:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises rather than returning nothing
        return {}


def app_config() -> AppConfig:
    return AppConfig.load(secrets=_secrets())


def _url(config: AppConfig) -> str:
    return config.database_url or default_url(config.data_dir)


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store(url)  # migrates an older store on the way


def store() -> Store:
    return _store(_url(app_config()))


def media() -> MediaStore:
    config = app_config()
    return _media(config.media_url, str(config.media_dir))


@st.cache_resource(show_spinner=False)
def _media(media_url: str | None, media_dir: str) -> MediaStore:
    """The media folder, or the bucket at SORA_MEDIA_URL (one client per process)."""
    return open_media(media_url, Path(media_dir))


def _sandbox_alive(running: RunningSandbox) -> bool:
    return running.thread.is_alive() and not running.server.should_exit


@st.cache_resource(show_spinner="Starting the built-in sandbox…", validate=_sandbox_alive)
def _sandbox(
    data_dir: str, task_seconds: float, profile: str = "standard", refunds_refusals: bool = False
) -> RunningSandbox:
    """Once per process; started again (same data, so its tasks resume) if it ever stops. It refunds
    refusals only where the deployment says its service does, so its balance and the store agree."""
    return start_sandbox(
        AppConfig(
            data_dir=Path(data_dir),
            sandbox_task_seconds=task_seconds,
            sandbox_render_profile=profile,
            refunds_refusals=refunds_refusals,
        )
    )


def sandbox() -> RunningSandbox:
    config = app_config()
    return _sandbox(
        str(config.data_dir), config.sandbox_task_seconds, config.sandbox_render_profile, config.refunds_refusals
    )


def connection() -> Connection:
    """The connection chosen on Settings (this session), else the configured default."""
    return _resolve(
        st.session_state.get("conn_choice"),
        typed_key=st.session_state.get("conn_api_key") or None,
        custom_url=st.session_state.get("conn_custom_url") or None,
    )


def _resolve(choice: str | None, *, typed_key: str | None, custom_url: str | None) -> Connection:
    config = app_config()
    chosen = resolve_connection(
        config, choice, typed_key=typed_key, custom_url=custom_url, sandbox_url=lambda: sandbox().base_url
    )
    if chosen.is_sandbox:
        return replace(chosen, sandbox_id=sandbox_id(config, chosen.base_url))
    return chosen


def start_in_background() -> TaskEngine | _ExternalEngine:
    """At process start, before any page runs (``serve.py``): the engine, holding the deployment's own
    connection (its configured key, else the built-in sandbox), so work queued or in flight before a
    restart is sent, followed and copied with no tab open. A key typed into one person's Settings is
    not kept anywhere, so that account's work waits until someone with it opens a page."""
    engine = task_engine()
    engine.hold(_resolve(None, typed_key=None, custom_url=None))
    engine.wake()
    return engine


def _engine_alive(engine: TaskEngine) -> bool:
    return engine.alive


@st.cache_resource(show_spinner=False, validate=_engine_alive)
def _task_engine(
    url: str,
    media_dir: str,
    sandbox_seconds: float,
    public_url: str | None,
    webhook_port: int,
    media_url: str | None,
    poll_scale: float = 1.0,
    refunds_refusals: bool = False,
) -> TaskEngine:
    """One per process: sends, follows and saves every task, whether or not a tab is open.
    (Keyed by these settings, never by the key.)"""
    settings = EngineSettings(
        typical_seconds={"sandbox": sandbox_seconds},
        policy=PollPolicy().scaled(poll_scale),
        refunds_refusals=refunds_refusals,
    )
    engine = TaskEngine(_store(url), _media(media_url, media_dir), settings=settings)
    if public_url:  # the service posts task updates here; polls stay the slower fallback
        serve_webhooks(engine, public_url=public_url, host=app_config().webhook_host, port=webhook_port)
    return engine.start()


class _ExternalEngine:
    """SORA_ENGINE=external: workers (python -m studio.worker) do the work; the app only queues."""

    alive = True

    def hold(self, connection: Connection) -> None:
        pass

    def wake(self) -> None:
        pass


def task_engine() -> TaskEngine | _ExternalEngine:
    if os.environ.get("SORA_ENGINE", "").strip().lower() == "external":
        return _ExternalEngine()
    config = app_config()
    return _task_engine(
        _url(config),
        str(config.media_dir),
        config.sandbox_task_seconds,
        config.public_url,
        config.webhook_port,
        config.media_url,
        config.poll_scale,
        config.refunds_refusals,
    )


def batch_service() -> BatchService:
    return BatchService(store(), media(), connection(), on_queued=task_engine().wake)


def generation_service() -> GenerationService:
    return GenerationService(store(), media(), connection(), on_queued=task_engine().wake)


def storyboard_service() -> StoryboardService:
    return StoryboardService(store(), media(), connection(), on_queued=task_engine().wake)


def character_service() -> CharacterService:
    return CharacterService(store(), media(), connection(), on_queued=task_engine().wake)


@st.cache_data(ttl=20, show_spinner=False, max_entries=16)
def credits_left(_connection: Connection, cache_key: str) -> tuple[int | None, bool]:
    """The key's credits as the service reports them, and whether the service refused the key; one
    reading, cached briefly (``cache_key`` names the connection by its account fingerprint, never the
    key). No credits and not refused: the service did not answer."""
    try:
        with _connection.client(max_retries=0, timeout=5.0) as client:
            return int(client.credits()), False
    except AuthenticationError:
        return None, True
    except Exception:
        return None, False


def _balance(conn: Connection) -> tuple[int | None, bool]:
    return credits_left(conn, f"{conn.base_url}|{conn.account}")


def credits_for(conn: Connection) -> int | None:
    return _balance(conn)[0]


def key_refused(conn: Connection) -> bool:
    """The service answered the credits call by refusing the key (the same reading as the credits)."""
    return _balance(conn)[1]


def balance_changed() -> None:
    """Something was just queued (and will be charged): the balance is read again when the next run
    starts (``read_balance_again``), not in the middle of this one, so that every figure this run
    draws (the line under the button, the sidebar after it) is the one reading."""
    st.session_state["balance_changed"] = True


def read_balance_again() -> None:
    """At the start of a run: forget the cached balance if the last run queued something."""
    if st.session_state.pop("balance_changed", False):
        credits_left.clear()


@st.cache_data(ttl=15, show_spinner=False, max_entries=16)
def _model_board(_connection: Connection, cache_key: str) -> ModelBoard:
    """Every model's status for this account (``cache_key`` names it by fingerprint, never the key)."""
    return ask_models(_connection)


def model_board(conn: Connection) -> ModelBoard:
    """Which models are up for this connection, asked at most every 15 s (``refresh_models`` asks now)."""
    return _model_board(conn, f"{conn.base_url}|{conn.account}")


def refresh_models() -> None:
    _model_board.clear()
