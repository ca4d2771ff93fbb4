"""Nothing is lost: an app restart with a task running, and the service dying mid-task."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import insert

from studio.db import Generation, LibraryFilter, Status, Store, default_url, utcnow

from .apptest_helpers import (
    end_process,
    generate,
    new_app,
    run_until,
    sandbox_counters,
    stop_engines,  # noqa: F401 - autouse: stops this module's engines and sandboxes
    texts,
)

KEY = "sk-team-key-42"


def generations(data) -> list[Generation]:
    return Store(default_url(data)).search(LibraryFilter(), limit=100)[0]


def status_of(data, prompt: str) -> str | None:
    return next((g.status for g in generations(data) if g.prompt == prompt), None)


def test_a_restarted_app_adopts_the_running_task_and_sees_it_finish(monkeypatch, tmp_path) -> None:
    data = tmp_path / "data"
    first = new_app(monkeypatch, data, SANDBOX_TASK_SECONDS="3")
    generate(first, "made across a restart")
    run_until(first, lambda _: status_of(data, "made across a restart") == Status.RUNNING)
    end_process()  # a new process: the engine and the in-process sandbox stop, every cached resource goes
    second = new_app(monkeypatch, data, SANDBOX_TASK_SECONDS="3")
    assert "1 video is being made" in texts(second)  # read from the store
    run_until(second, lambda at: at.get("video"))
    [generation] = generations(data)
    assert generation.status == Status.SUCCEEDED and generation.pid in texts(second)
    assert sandbox_counters(second).get("received_video", 0) == 0  # followed to the end, never sent again


def learned_pace(data, service: str, seconds: float) -> None:
    """Three earlier videos of this service that took ``seconds``: the engine plans its polls from
    how long the service's videos took (else it assumes minutes, as a live service takes)."""
    now = utcnow()
    rows = [
        {
            "kind": "text",
            "status": Status.SUCCEEDED,
            "prompt": f"an earlier video #{n}",
            "aspect_ratio": "16:9",
            "duration": 10,
            "size": "small",
            "service": service,
            "account": "someone-else",
            "created_at": now - timedelta(hours=1),
            "submitted_at": now - timedelta(hours=1),
            "finished_at": now - timedelta(hours=1) + timedelta(seconds=seconds),
        }
        for n in range(3)
    ]
    store = Store(default_url(data))
    with store.session() as session, session.begin():
        session.execute(insert(Generation), rows)


def test_the_app_keeps_working_while_the_service_is_down_and_recovers(
    monkeypatch, tmp_path, make_sandbox
) -> None:
    service_data = tmp_path / "service"
    service = make_sandbox(api_keys=(KEY,), task_seconds=2.0, data_dir=service_data)
    port = int(service.base_url.rsplit(":", 1)[1])
    data = tmp_path / "data"
    learned_pace(data, service.base_url, 2.0)
    at = new_app(monkeypatch, data, GRSAI_API_KEY=KEY, GRSAI_BASE_URL=service.base_url)
    assert not at.session_state["connection"].is_sandbox
    generate(at, "a kite in a storm")
    run_until(at, lambda _: status_of(data, "a kite in a storm") == Status.RUNNING)
    service.stop()
    run_until(at, lambda a: "Can't reach the service right now; still trying" in texts(a))
    generate(at, "a second kite")  # asked while the service is down: kept, and sent when it is back
    assert not at.error
    # The engine keeps trying to send it (a try is 'submitting' for a moment, then back in the queue:
    # a connection that never opened sent nothing); in between it waits, queued, and says so.
    run_until(at, lambda a: "Waiting to send" in texts(a) and status_of(data, "a second kite") == Status.QUEUED)
    assert "2 videos are being made" in texts(at)
    back = make_sandbox(port=port, api_keys=(KEY,), task_seconds=2.0, data_dir=service_data)  # same state
    run_until(at, lambda a: len(a.get("video")) == 2, timeout=60)
    assert status_of(data, "a kite in a storm") == status_of(data, "a second kite") == Status.SUCCEEDED
    assert "Can't reach" not in texts(at) and "Waiting to send" not in texts(at)
    counters = httpx.get(f"{back.base_url}/sandbox/stats", headers=back.control_headers).json()["counters"]
    assert counters["received_video"] == 1  # the second kite, once; the first was never sent again


def test_a_failing_fragment_or_dialog_shows_words_and_the_page_carries_on() -> None:
    """Fragments and dialogs draw their own exceptions, traceback and all, out of the page guard's
    reach (a Library link to generation 99999999999999999999999 did): each is guarded too."""
    from streamlit.testing.v1 import AppTest

    def script() -> None:
        import streamlit as st

        from components.guard import guarded

        @st.fragment
        @guarded
        def broken() -> None:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")

        broken()
        st.write("the rest of the page")

    at = AppTest.from_function(script).run()
    assert not at.exception
    assert "Something went wrong here" in at.error[0].value and "SQLite" not in at.error[0].value
    assert at.markdown[-1].value == "the rest of the page"


def test_a_failing_sidebar_shows_words_not_a_traceback(monkeypatch, tmp_path) -> None:
    """The sidebar is drawn after the page, outside the page's guard: a store that fails there (an
    old data folder, a database gone) showed a traceback on every page."""
    import components.sidebar

    def broken(*args, **kwargs):
        raise RuntimeError("no such column: generations.output_retries")

    monkeypatch.setattr(components.sidebar, "render_sidebar", broken)
    at = new_app(monkeypatch, tmp_path / "data")
    assert not at.exception
    assert any("Something went wrong here" in e.value for e in at.sidebar.error)
    assert any(w.key == "generate_prompt" for w in at.text_area)  # the page itself still works
