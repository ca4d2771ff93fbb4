"""Driving the app through Streamlit's AppTest against its own in-process sandbox."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"


def new_app(monkeypatch, data_dir: Path, **env: str) -> AppTest:
    monkeypatch.setenv("SORA_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SANDBOX_TASK_SECONDS", env.pop("SANDBOX_TASK_SECONDS", "1"))
    for name in ("GRSAI_API_KEY", "GRSAI_BASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def service_url(at: AppTest) -> str:
    return at.session_state["connection"].base_url


def sandbox_counters(at: AppTest) -> dict:
    return httpx.get(f"{service_url(at)}/sandbox/stats").json()["counters"]


def run_until(at: AppTest, done: Callable[[AppTest], object], timeout: float = 25.0) -> None:
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, "the page never got there"
        time.sleep(0.25)
        at.run()
        assert not at.exception, at.exception


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [c.value for c in at.code]
    parts += [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def sidebar_text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption])


def generate(at: AppTest, prompt: str, **widgets) -> None:
    at.text_area(key="generate_prompt").set_value(prompt)
    for key, value in widgets.items():
        widget(at, key).set_value(value)
    next(b for b in at.button if b.label == "Generate").click()
    at.run()
    assert not at.exception, at.exception


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
    ):
        try:
            return getattr(at, kind)(key=key)
        except (KeyError, AttributeError, IndexError):
            continue
    raise KeyError(key)
