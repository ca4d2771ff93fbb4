"""``python serve.py`` (what scripts/start.sh runs): the task engine starts with the process, so work
in flight when the app was killed is followed and copied after a restart with no browser open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from studio.config import AppConfig
from studio.connection import resolve_connection
from studio.db import Status, Store
from studio.generation import GenerationService
from studio.media import MediaStore
from tests.conftest import stats
from tests.test_browser import free_port

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-serve-restart-test"


def start(data: Path, service_url: str, log: Path) -> tuple[subprocess.Popen, str]:
    """serve.py on a free port with the deployment's key for ``service_url``; no page is ever asked
    for (the health check opens no session)."""
    port = free_port()
    env = {**os.environ, "SORA_DATA_DIR": str(data), "GRSAI_API_KEY": KEY, "GRSAI_BASE_URL": service_url}
    process = subprocess.Popen(
        [
            sys.executable,
            "serve.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.2)


def wait_for(check, seconds: float, what: str, log: Path):
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}\n{log.read_text()[-3000:]}"
        time.sleep(0.1)
    return found


def test_a_killed_app_restarted_with_no_tab_finishes_the_work_it_had_in_flight(
    make_sandbox, tmp_path
) -> None:
    running = make_sandbox(task_seconds=4.0, progress_interval=0.2)
    data, log = tmp_path / "data", tmp_path / "app.log"
    config = AppConfig(data_dir=data, api_key=KEY, base_url=running.base_url)
    live = resolve_connection(config, None, typed_key=None, custom_url=None, sandbox_url=lambda: "unused")
    store = Store(f"sqlite:///{data / 'playground.db'}")
    media = MediaStore(data / "media")
    queued = GenerationService(store, media, live).submit(
        {"prompt": "made with nobody watching"}, request_key="serve-1"
    )

    first, _ = start(data, running.base_url, log)
    try:  # the first process sends it (no tab has been opened) and is killed while it is made
        wait_for(lambda: store.get(queued.id).status == Status.RUNNING, 60, "the task to be sent", log)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert store.get(queued.id).status == Status.RUNNING

    second, _ = start(data, running.base_url, log)
    try:
        wait_for(lambda: store.get(queued.id).status == Status.SUCCEEDED, 60, "the task to finish", log)
    finally:
        second.terminate()
        second.wait(20)
    done = store.get(queued.id)
    assert media.exists(done.video_path)
    assert stats(running)["creates_by_prompt"]["made with nobody watching"] == 1  # sent once, not again
    store.dispose()


def test_the_app_starts_with_fast_reruns_on_because_off_blanks_it_on_a_page_switch() -> None:
    """With Streamlit's fast reruns off, a page switch made while a fragment redraws itself blanked
    the whole app ("Bad delta path index"): in this app's browser tests (Generate to Library, after
    a batch) and in ``python -m bench.rerun_race`` within 12 switches, where it never did with them on
    (300 of 300). On, they rarely break a run when two threads meet in the session's state (4 and 8
    runs in 300 clicks of a page made for it; once in CI). The app, started from its folder as
    scripts/start.sh and scripts/team.sh start it, keeps them on, whatever Streamlit's default."""
    read = subprocess.run(
        [sys.executable, "-c", "from streamlit import config; print(config.get_option('runner.fastReruns'))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert read.stdout.strip() == "True", read.stdout + read.stderr
