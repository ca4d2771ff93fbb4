"""A page link clicked just as something finished is not lost. When a video (a batch, a storyboard,
a sheet) ends, the fragment watching it reruns the page once so it catches up. Streamlit folds that
rerun into one already waiting and keeps the newer request's page, so the person who had just
clicked "Remix" in the sidebar was sent back to Generate. These tests use Streamlit's own request
queue: the click waits in it, then the fragment asks to catch up."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import streamlit.commands.execution_control as execution_control
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests, ScriptRequestType

import components.session as session

GENERATE, REMIX = "hash-of-generate", "hash-of-remix"


@pytest.fixture
def requests(monkeypatch) -> ScriptRequests:
    """The session's request queue, with the fragment's run on Generate as the current run."""
    queue = ScriptRequests()
    run = SimpleNamespace(
        script_requests=queue,
        query_string="",
        page_script_hash=GENERATE,
        cached_message_hashes=frozenset(),
        context_info=None,
    )
    monkeypatch.setattr(execution_control, "get_script_run_ctx", lambda *a, **k: run)
    monkeypatch.setattr(session, "get_script_run_ctx", lambda *a, **k: run)
    body = SimpleNamespace(run_location=None)  # the fragment's body, not a widget's callback
    monkeypatch.setattr(execution_control, "ThreadState", SimpleNamespace(get=lambda: body))
    return queue


def waiting_page(queue: ScriptRequests) -> str | None:
    request = queue.on_scriptrunner_yield()
    if request is None or request.type is not ScriptRequestType.RERUN:
        return None
    return request.rerun_data.page_script_hash


def test_a_plain_rerun_after_a_click_keeps_the_page_being_left(requests) -> None:
    """Why catch_up exists: Streamlit's own fold, shown."""
    requests.request_rerun(RerunData(page_script_hash=REMIX))  # the click on "Remix"
    requests.request_rerun(RerunData(page_script_hash=GENERATE))  # what st.rerun() in the fragment asks
    assert waiting_page(requests) == GENERATE


def test_catching_up_after_a_page_link_click_goes_to_the_clicked_page(requests) -> None:
    requests.request_rerun(RerunData(page_script_hash=REMIX))
    session.catch_up()  # nothing to ask: the waiting rerun redraws the whole app
    assert waiting_page(requests) == REMIX


def test_catching_up_with_nothing_waiting_reruns_the_page(requests) -> None:
    session.catch_up()
    assert waiting_page(requests) == GENERATE


def test_a_fragment_rerun_waiting_does_not_stop_the_page_catching_up(requests) -> None:
    """Only a rerun of the whole app redraws the whole page: a fragment's own tick does not."""
    requests.request_rerun(RerunData(page_script_hash=GENERATE, fragment_id_queue=["sidebar"]))
    session.catch_up()
    request = requests.on_scriptrunner_yield()
    assert request is not None and request.type is ScriptRequestType.RERUN
    assert request.rerun_data.fragment_id_queue == []  # a rerun of the whole page now
