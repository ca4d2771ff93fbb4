"""Driving the app through Streamlit's AppTest against its own in-process sandbox.

AppTest runs the whole script in this process, and the task engine (components.resources) is a
real background thread here too: a page only writes ``queued`` rows, the engine sends and follows
them. Waiting for a video therefore means re-running the page until the store shows it
(``run_until``). Every engine and sandbox a test started is stopped after it (``stop_engines``,
autouse in the modules that import it), so no test's threads outlive it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Widget

from sandbox.control import control_headers

APP = Path(__file__).resolve().parent.parent / "app.py"
_STARTED: list = []  # (engine, sandbox) of every app a test started


def new_app(monkeypatch, data_dir: Path, **env: str) -> AppTest:
    monkeypatch.setenv("SORA_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SANDBOX_TASK_SECONDS", env.pop("SANDBOX_TASK_SECONDS", "1"))
    # tiny renders and the engine's clock five times faster, as for every sandbox of the suite
    monkeypatch.setenv("SANDBOX_RENDER_PROFILE", env.pop("SANDBOX_RENDER_PROFILE", "light"))
    monkeypatch.setenv("SORA_POLL_SCALE", env.pop("SORA_POLL_SCALE", "0.2"))
    for name in ("GRSAI_API_KEY", "GRSAI_BASE_URL", "DATABASE_URL", "SORA_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    _remember_resources()
    return at


def _remember_resources() -> None:
    """The engine and sandbox this app's run used (the same cached objects: same arguments)."""
    from components import resources

    config = resources.app_config()
    engine = resources.task_engine()
    sandbox = resources._sandbox(
        str(config.data_dir), config.sandbox_task_seconds, config.sandbox_render_profile, config.refunds_refusals
    )
    _STARTED.append((engine, sandbox))


def end_process() -> None:
    """What the app's process ending does: its engine and in-process sandbox stop, and every
    cached resource goes (the next run starts them again, on the same folder)."""
    while _STARTED:
        engine, sandbox = _STARTED.pop()
        stop = getattr(engine, "stop", None)
        if stop is not None:
            stop()
        sandbox.stop()
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(autouse=True)
def stop_engines() -> Iterator[None]:
    """After each test: stop the engines and sandboxes its apps started, and forget them."""
    yield
    end_process()


def service_url(at: AppTest) -> str:
    return at.session_state["connection"].base_url


def sandbox_counters(at: AppTest) -> dict:
    return httpx.get(f"{service_url(at)}/sandbox/stats", headers=control_headers(service_url(at))).json()[
        "counters"
    ]


def creates(at: AppTest) -> int:
    """How many video creates reached the sandbox (answered or refused)."""
    return sandbox_counters(at).get("received_video", 0)


def run_until(at: AppTest, done: Callable[[AppTest], object], timeout: float = 25.0) -> None:
    """Re-run the page (as its fragments would) until ``done`` holds: the engine works meanwhile."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, "the page never got there"
        time.sleep(0.25)
        at.run()
        assert not at.exception, at.exception


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [c.value for c in at.code]
    parts += [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def errors(at) -> str:
    return "\n".join(e.value for e in at.error)


def sidebar_text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption])


def button(at, label: str, *, contains: bool = False):
    return next(b for b in at.button if (label in b.label if contains else b.label == label))


def click(at, label: str, *, contains: bool = False) -> None:
    button(at, label, contains=contains).click()
    at.run()
    assert not at.exception, at.exception


def generate(at: AppTest, prompt: str, **widgets) -> None:
    at.text_area(key="generate_prompt").set_value(prompt)
    for key, value in widgets.items():
        widget(at, key).set_value(value)
    click(at, "Generate")


def widget(at: AppTest, key: str):
    for kind in (
        "text_input",
        "text_area",
        "selectbox",
        "multiselect",
        "radio",
        "segmented_control",
        "slider",
        "date_input",
        "toggle",
        "checkbox",
        "number_input",
        "file_uploader",
    ):
        try:
            return getattr(at, kind)(key=key)
        except (KeyError, AttributeError, IndexError):
            continue
    raise KeyError(key)


# -- where a message is drawn -------------------------------------------------------------------
def _holder(block: Block, key: str) -> tuple[Block, int] | None:
    """The innermost block holding the widget keyed ``key`` as a direct child, and its index."""
    for index, child in block.children.items():
        if isinstance(child, Widget) and child.key == key:
            return block, index
        if isinstance(child, Block):
            found = _holder(child, key)
            if found is not None:
                return found
    return None


def block_of(at: AppTest, key: str) -> Block:
    """The container (column, expander …) the widget keyed ``key`` is drawn in."""
    found = _holder(at.main, key)
    assert found is not None, f"no widget {key!r} on the page"
    return found[0]


def beside(at: AppTest, key: str) -> str:
    """The errors and warnings drawn right after the widget keyed ``key``, before the next input
    in its container: what the page says about that one field."""
    holder, index = block_of(at, key), _holder(at.main, key)[1]
    said = []
    for position in sorted(p for p in holder.children if p > index):
        for node in holder.children[position]:
            if isinstance(node, Widget):
                return "\n".join(said)
            if node.type in ("error", "warning") or type(node).__name__ in ("Error", "Warning"):
                said.append(node.value)
    return "\n".join(said)


def remix_a_made_video(at: AppTest, prompt: str = "a quiet harbour at sunrise") -> None:
    """A video made on Generate, then chosen on Remix ("Remix this one")."""
    generate(at, prompt)
    run_until(at, lambda a: a.get("video"))
    at.switch_page("app_pages/remix.py")
    at.run()
    click(at, "Remix this one")
