"""The built-in sandbox lives in the app's process (a thread). When that process exits with many
renders waiting, it must exit at once, and on the next start on the same folder every task still
finishes: an app restart loses nothing and does not hang."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from grsai_api import Client
from sandbox import SandboxConfig, serve_in_thread

from .conftest import API_KEY

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
        deadline = time.monotonic() + 10
        while True:
            tasks = [client.get_result(task_id) for task_id in task_ids]
            waiting = [t for t in tasks if t.status == "running" and t.progress >= 99]
            if len(waiting) >= 6 and all(t.status == "succeeded" or t.progress >= 99 for t in tasks):
                break
            assert time.monotonic() < deadline, [(t.status, t.progress) for t in tasks]
            time.sleep(0.05)
    # the process ends here, renders still waiting, without stopping the sandbox, as Streamlit's does
    """
)


def test_an_app_exit_with_renders_waiting_is_prompt_and_the_tasks_finish_after_the_restart(tmp_path) -> None:
    app = subprocess.run(
        [sys.executable, "-c", APP_LIKE, str(tmp_path), API_KEY],
        capture_output=True,
        text=True,
        timeout=12,  # it used to render the whole queue before exiting (seconds a large video)
    )
    assert app.returncode == 0, app.stderr
    task_ids = app.stdout.split()
    assert len(task_ids) == 8

    restarted = serve_in_thread(SandboxConfig(data_dir=tmp_path, task_seconds=0.2, render_profile="light"))
    try:
        with Client(api_key=API_KEY, base_url=restarted.base_url) as client:
            finished = [client.wait(task_id, interval=0.2, timeout=120) for task_id in task_ids]
        assert [task.status for task in finished] == ["succeeded"] * 8
        assert len({task.pid for task in finished}) == 8
    finally:
        restarted.stop()
