"""Nothing is lost: an app restart with a task running, and the service dying mid-task."""

from __future__ import annotations

import streamlit as st

from components import resources
from studio.store import LibraryFilter, Store, default_url

from .apptest_helpers import generate, new_app, run_until, texts

KEY = "sk-team-key-42"


def only_generation(data):
    [generation] = Store(default_url(data)).search(LibraryFilter())[0]
    return generation


def test_a_restarted_app_adopts_the_running_task_and_sees_it_finish(monkeypatch, tmp_path) -> None:
    data = tmp_path / "data"
    first = new_app(monkeypatch, data, SANDBOX_TASK_SECONDS="3")
    generate(first, "made across a restart")
    assert only_generation(data).status == "running"
    # A new process: the in-process sandbox stops and every cached resource goes.
    resources._sandbox(str(data.resolve()), 3.0).stop()
    st.cache_resource.clear()
    second = new_app(monkeypatch, data, SANDBOX_TASK_SECONDS="3")
    assert "1 video is being made" in texts(second)  # adopted from the store
    run_until(second, lambda at: at.get("video"))
    generation = only_generation(data)
    assert generation.status == "succeeded" and generation.pid in texts(second)


def test_the_app_keeps_working_while_the_service_is_down_and_recovers(
    monkeypatch, tmp_path, make_sandbox
) -> None:
    service_data = tmp_path / "service"
    service = make_sandbox(api_keys=(KEY,), task_seconds=2.0, data_dir=service_data)
    port = int(service.base_url.rsplit(":", 1)[1])
    data = tmp_path / "data"
    at = new_app(monkeypatch, data, GRSAI_API_KEY=KEY, GRSAI_BASE_URL=service.base_url)
    assert not at.session_state["connection"].is_sandbox
    generate(at, "a kite in a storm")
    service.stop()
    run_until(at, lambda a: "Can't reach the service right now; still trying" in texts(a), timeout=10)
    generate(at, "a second kite")  # sending while down: explained, nothing stored
    assert "did not start this video" in "\n".join(e.value for e in at.error)
    assert Store(default_url(data)).search(LibraryFilter())[1] == 1
    make_sandbox(port=port, api_keys=(KEY,), task_seconds=2.0, data_dir=service_data)  # back, same state
    run_until(at, lambda a: a.get("video"))
    assert only_generation(data).status == "succeeded"
    assert "Can't reach" not in texts(at)
