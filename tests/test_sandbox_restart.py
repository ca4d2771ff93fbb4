"""The built-in sandbox lives in the app's process (a thread). When that process exits with many
renders waiting, it must exit at once, and on the next start on the same folder every task still
finishes: an app restart loses nothing and does not hang."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from grsai_api import Client
from sandbox import SandboxConfig, serve_in_thread

from .conftest import API_KEY

EXIT_SECONDS = 3  # a render in progress stops at its next frame; it used to take seconds a large video

APP_LIKE = textwrap.dedent(
    """
    import sys, time
    from grsai_api import Client
    from sandbox import SandboxConfig, serve_in_thread

    running = serve_in_thread(SandboxConfig(data_dir=sys.argv[1], task_seconds=0.2, render_workers=1))
    with Client(api_key=sys.argv[2], base_url=running.base_url) as client:
        task_ids = [client.create_video(prompt=f"A lantern number {n}", size="large") for n in range(8)]
        for task_id in task_ids:
            print(task_id, flush=True)
        # Wait until the tasks' time is up and they wait for the one render worker (99%, running).
        while True:
            tasks = [client.get_result(task_id) for task_id in task_ids]
            waiting = [t for t in tasks if t.status == "running" and t.progress >= 99]
            if len(waiting) >= 6 and all(t.status == "succeeded" or t.progress >= 99 for t in tasks):
                break
            time.sleep(0.05)
    print("exiting", len(waiting), flush=True)
    # the process ends here, renders still waiting, without stopping the sandbox, as Streamlit's does
    """
)


def test_an_app_exit_with_renders_waiting_is_prompt_and_the_tasks_finish_after_the_restart(tmp_path) -> None:
    app = subprocess.Popen(
        [sys.executable, "-c", APP_LIKE, str(tmp_path), API_KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Starting up, sending and reaching the queue take what the machine's load makes them take (the
    # suite's own timeout bounds them); only the exit, with six large renders waiting, is timed.
    task_ids: list[str] = []
    for line in app.stdout:
        if line.startswith("exiting"):
            break
        task_ids.append(line.strip())
    asked_to_exit = time.monotonic()
    try:
        app.wait(timeout=EXIT_SECONDS)  # it used to render the whole queue, then the one under way
    except subprocess.TimeoutExpired:
        app.kill()
        app.wait()
        pytest.fail(f"the app took more than {EXIT_SECONDS} s to exit with renders waiting")
    exit_seconds = time.monotonic() - asked_to_exit
    assert app.returncode == 0, app.stderr.read()
    assert len(task_ids) == 8, (exit_seconds, task_ids)

    restarted = serve_in_thread(SandboxConfig(data_dir=tmp_path, task_seconds=0.2, render_profile="light"))
    try:
        with Client(api_key=API_KEY, base_url=restarted.base_url) as client:
            finished = [client.wait(task_id, interval=0.2, timeout=120) for task_id in task_ids]
        assert [task.status for task in finished] == ["succeeded"] * 8
        assert len({task.pid for task in finished}) == 8
    finally:
        restarted.stop()
