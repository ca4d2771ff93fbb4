"""The team layout, measured (issue 9): ``streamlit run`` replicas and ``python -m studio.worker``
processes on one PostgreSQL and one S3-compatible bucket, each process with a data folder of its own
(so the store and the bucket are all they share). Work is started from every replica's Batch page in
Chromium; the sandbox counts creates per prompt, polls per task and downloads per file.

    .venv/bin/python -m bench.team                      # 200 and 1,000 generations, 1 and 2 workers
    .venv/bin/python -m bench.team --sizes 200 --workers 2

``tests/test_team.py`` runs the same harness once (200 generations, a worker SIGKILLed mid-run).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
from sqlalchemy import func, select

from sandbox.control import control_headers
from studio.db import Generation, Status, Store

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
API_KEY = "sk-team-bench-0000"
ACTIVE = (Status.QUEUED, Status.SUBMITTING, Status.RUNNING, Status.SAVING)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float, what: str, every: float = 0.25):
    """``condition()`` once truthy, checked every ``every`` seconds; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@dataclass
class Team:
    """Replicas and workers sharing ``database_url`` and ``media_url`` and nothing else."""

    database_url: str
    media_url: str
    service_url: str
    folder: Path
    worker_args: tuple[str, ...] = ("--poll-lease", "5", "--copy-timeout", "5", "--send-lease", "8")
    replicas: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    workers: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def env(self, name: str, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SORA_DATA_DIR": str(self.folder / name),
            "DATABASE_URL": self.database_url,
            "SORA_MEDIA_URL": self.media_url,
            "GRSAI_API_KEY": API_KEY,
            "GRSAI_BASE_URL": self.service_url,
            **extra,
        }

    def start_replica(self) -> str:
        name, port = f"replica{len(self.replicas)}", free_port()
        log = (self.folder / f"{name}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=self.env(name, SORA_ENGINE="external"), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            assert process.poll() is None, f"{name} stopped: see {log.name}"
            try:
                return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60, f"{name} to start")
        self.replicas.append((url, process))
        return url

    def start_worker(self) -> str:
        """A worker; returns its engine id (its first health line says it)."""
        name = f"worker{len(self.workers)}"
        log = self.folder / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "studio.worker", "--health-seconds", "5", *self.worker_args],
            cwd=self.folder, env=self.env(name), stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
        )  # fmt: skip
        line = process.stdout.readline()
        if not line:  # it stopped before saying it started: say why
            process.wait(timeout=30)
            raise AssertionError(f"{name} stopped ({process.returncode}): {log.read_text()[-2000:]}")
        first = json.loads(line)
        assert first.get("state") == "started", first
        self.workers.append((first["worker"], process))
        return first["worker"]

    def kill_worker(self, number: int) -> str:
        engine_id, process = self.workers[number]
        process.send_signal(signal.SIGKILL)  # no clean stop: its leases stay as they were
        process.wait(timeout=30)
        return engine_id

    def stop(self) -> None:
        for _, process in self.workers + self.replicas:
            if process.poll() is None:
                process.terminate()
        for _, process in self.workers + self.replicas:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def start_batches(replica_urls: list[str], rows_each: int, tag: str, store: Store) -> list[str]:
    """One batch of ``rows_each`` rows from each replica's Batch page, in Chromium: the pages' own
    services queue them (each batch is waited for in the store). Returns every prompt sent."""
    from playwright.sync_api import sync_playwright

    prompts: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            for number, url in enumerate(replica_urls):
                mine = [f"{tag} replica {number} row {n}" for n in range(rows_each)]
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"{url}/batch")
                page.get_by_text("Paste rows").click()
                box = page.get_by_role("textbox", name="Rows, with a header row")
                box.fill("prompt\n" + "\n".join(mine) + "\n")
                box.press("Tab")
                start = page.get_by_role("button", name=f"Start · {rows_each:,} videos")
                start.click(timeout=60_000)
                wait_for(lambda m=mine: queued(store, m) == len(m), 60, f"replica {number}'s batch in the store")
                prompts += mine
                page.close()
                print(f"  replica {number}: batch of {rows_each} started", file=sys.stderr, flush=True)
        finally:
            browser.close()
    return prompts


def queued(store: Store, prompts: list[str], *statuses: Status) -> int:
    """How many of these prompts' rows the store holds (in ``statuses``, when given)."""
    query = select(func.count()).select_from(Generation).where(Generation.prompt.in_(prompts))
    if statuses:
        query = query.where(Generation.status.in_(statuses))
    with store.session() as session:
        return session.scalar(query)


def library_counts(replica_urls: list[str]) -> list[str]:
    """What each replica's Library says it holds (its caption)."""
    from playwright.sync_api import sync_playwright

    said = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            for url in replica_urls:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"{url}/library")
                caption = page.get_by_text("generations ·").first
                caption.wait_for(timeout=60_000)
                said.append(caption.inner_text())
                page.close()
        finally:
            browser.close()
    return said


@dataclass
class Tally:
    rows: list[Generation]
    creates: Counter  # prompt -> creates the service saw
    polls: dict[str, int]  # task id -> polls the service answered
    downloads: dict[str, int]  # file name -> downloads

    @property
    def statuses(self) -> Counter:
        return Counter(r.status for r in self.rows)

    def polls_per_task(self) -> float:
        counts = sorted(self.polls.get(r.task_id, 0) for r in self.rows if r.task_id)
        return counts[len(counts) // 2] if counts else 0.0

    def duplicate_downloads(self) -> int:
        return sum(n - 1 for n in self.downloads.values() if n > 1)

    def file_name(self, row: Generation) -> str:
        return Path(urlparse(row.remote_url or "").path).name


def tally(store: Store, service_url: str, sandbox_folder: Path | None, prompts: list[str]) -> Tally:
    stats = httpx.get(
        f"{service_url}/sandbox/stats", headers=control_headers(service_url, sandbox_folder), timeout=30
    ).json()
    with store.session() as session:  # only these prompts' rows, chosen by the database
        rows = list(session.scalars(select(Generation).where(Generation.prompt.in_(prompts))))
    return Tally(rows, Counter(stats["creates_by_prompt"]), stats["polls_by_task"], stats["downloads_by_name"])


def all_final(store: Store, prompts: list[str]) -> bool:
    return queued(store, prompts) == len(prompts) and queued(store, prompts, *ACTIVE) == 0


def main() -> None:  # pragma: no cover - a measurement, run by hand
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()

    import boto3
    from moto.server import ThreadedMotoServer

    from sandbox import SandboxConfig, serve_in_thread
    from tests.databases import start_postgres_server, stop_postgres_server

    folder = Path(tempfile.mkdtemp(prefix="team-bench-"))
    postgres = start_postgres_server()
    s3_port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3.start()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{s3_port}",
    )  # fmt: skip
    boto3.client("s3").create_bucket(Bucket="bench-media")
    sandbox = serve_in_thread(
        SandboxConfig(
            data_dir=folder / "sandbox", task_seconds=3.0, progress_interval=0.5, render_profile="light", credits=10**9
        )
    )
    try:
        print("generations  workers  creates  unknown  polls/task(median)  duplicate downloads  seconds")
        for size in args.sizes:
            for workers in args.workers:
                database_url = postgres.url(postgres.create_database())
                team = Team(database_url, f"s3://bench-media/{size}-{workers}", sandbox.base_url, folder / f"{size}-{workers}")
                team.folder.mkdir(parents=True)
                store = Store(database_url)
                try:
                    urls = [team.start_replica() for _ in range(args.replicas)]
                    for _ in range(workers):
                        team.start_worker()
                    print(f"  {size} x {workers}: replicas and workers up", file=sys.stderr, flush=True)
                    began = time.monotonic()
                    prompts = start_batches(urls, size // args.replicas, f"bench {size}x{workers}", store)
                    wait_for(lambda s=store, p=prompts: all_final(s, p), 3600, "every generation to end", every=1.0)
                    seconds = time.monotonic() - began
                    print(f"  {size} x {workers}: all ended", file=sys.stderr, flush=True)
                    counted = tally(store, sandbox.base_url, folder / "sandbox", prompts)
                    creates = sum(counted.creates[p] for p in prompts)
                    print(
                        f"{size:>11,}  {workers:>7}  {creates:>7,}  {counted.statuses[Status.UNKNOWN]:>7}  "
                        f"{counted.polls_per_task():>18}  {counted.duplicate_downloads():>19}  {seconds:>7.1f}",
                        flush=True,
                    )
                finally:
                    team.stop()
                    store.dispose()
    finally:
        sandbox.stop()
        s3.stop()
        stop_postgres_server(postgres)


if __name__ == "__main__":
    main()
