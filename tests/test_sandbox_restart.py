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
        for n in range(8):
            print(client.create_video(prompt=f"A lantern number {n}", size="large"), flush=True)
    time.sleep(0.6)  # every task now waits for the one render worker
    # the process ends here without stopping the sandbox, as Streamlit's does
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
