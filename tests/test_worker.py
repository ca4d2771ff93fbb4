"""``python -m studio.worker``: the engine as its own process, started and stopped as a team would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from studio.connection import sandbox_connection
from studio.db import Status, Store
from studio.generation import GenerationService
from studio.media import MediaStore
from tests.conftest import stats

ROOT = Path(__file__).resolve().parent.parent


def test_a_worker_process_makes_queued_work_and_stops_cleanly(make_sandbox, tmp_path):
    running = make_sandbox(task_seconds=0.6, progress_interval=0.1)
    data = tmp_path / "data"
    store = Store(f"sqlite:///{data / 'playground.db'}")
    media = MediaStore(data / "media")
    queued = GenerationService(store, media, sandbox_connection(running.base_url)).submit(
        {"prompt": "made by a worker"}, request_key="worker-1"
    )
    env = {**os.environ, "SORA_DATA_DIR": str(data), "SANDBOX_TASK_SECONDS": "0.6", "PYTHONPATH": str(ROOT)}
    env.pop("GRSAI_API_KEY", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "studio.worker", "--sandbox-url", running.base_url, "--health-seconds", "0.5"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = json.loads(worker.stdout.readline())
        assert first["state"] == "started"
        deadline = time.monotonic() + 60
        while store.get(queued.id).status != Status.SUCCEEDED:
            assert worker.poll() is None, "the worker died"
            assert time.monotonic() < deadline, store.get(queued.id).status
            time.sleep(0.1)
        assert {(s, a) for s, a in store.held_recently()} >= {("sandbox", queued.account)}
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0
    last = json.loads(out.strip().splitlines()[-1])
    assert last["state"] == "stopped" and last["sent"] == 1 and last["copied"] == 1
    assert media.exists(store.get(queued.id).video_path)
    assert stats(running)["creates_by_prompt"]["made by a worker"] == 1
    assert store.held_recently() == set()  # its heartbeat is gone: nobody claims to hold the key


def test_a_worker_without_any_key_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GRSAI_API_KEY"} | {"PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "studio.worker"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "no key to work with" in result.stderr
