"""Every model through the task engine against a sandbox in its own process.

Two questions: how long each model's sandbox task takes end to end (create → file kept), and what
putting a shared reference image in GrsAI's storage once saves against sending it inline (base64)
with every request: bytes sent to the service and seconds for N requests that share one image.

    .venv/bin/python -m bench.models [--shared 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from grsai_api import APIConnectionError, AsyncClient
from studio.connection import sandbox_connection
from studio.db import Status, Store
from studio.engine import EngineSettings, PollPolicy, TaskEngine
from studio.generation import GenerationService
from studio.media import MediaStore

from . import _sandbox


def run_engine(engine: TaskEngine, timeout: float) -> None:
    asyncio.run(engine.drain(timeout))

CASES = [
    ("sora-2", {"duration": 10}),
    ("veo3.1-fast", {}),
    ("veo3.1-fast-1080p", {}),
    ("veo3.1-fast-4k", {}),
    ("minimax-h3", {"duration": 6, "resolution": "768p"}),
    ("nano-banana", {"image_size": "1K"}),
    ("nano-banana-pro", {"image_size": "4K"}),
    ("gpt-image-2", {"variants": 4}),
]


def photo(megabytes: float) -> bytes:
    """A noisy PNG of about this size (noise does not compress)."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5)
    buffer = io.BytesIO()
    Image.effect_noise((side, side), 60).convert("RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def parts(base_url: str):
    folder = Path(tempfile.mkdtemp(prefix="bench-models-"))
    store, media = Store(f"sqlite:///{folder / 'studio.db'}"), MediaStore(folder / "media")
    connection = sandbox_connection(base_url)
    settings = EngineSettings(typical_seconds={"sandbox": 2.0}, policy=PollPolicy().scaled(0.1))
    engine = TaskEngine(store, media, settings=settings)
    engine.hold(connection)
    return store, GenerationService(store, media, connection, on_queued=engine.wake), engine


def one_model(base_url: str, model: str, fields: dict, repeat: int) -> list[float]:
    seconds = []
    for n in range(repeat):
        store, service, engine = parts(base_url)
        row = service.submit({"model": model, "prompt": f"bench {model} #{n}", **fields})
        started = time.perf_counter()
        run_engine(engine, 600)
        seconds.append(time.perf_counter() - started)
        done = store.get(row.id)
        assert done.status == Status.SUCCEEDED, (model, done.error)
        store.dispose()
    return seconds


def shared_reference(base_url: str, count: int, upload: bool) -> tuple[float, int]:
    """Seconds to send and finish ``count`` Veo requests sharing one 4 MB first frame, and the
    bytes of request bodies that carried it."""
    store, service, engine = parts(base_url)
    image = photo(4)
    original = AsyncClient.upload_file
    if not upload:  # the engine sends the file inline (base64) when the storage refuses it

        async def refuse(self, data, suffix="png"):
            raise APIConnectionError("storage switched off for this measurement")

        AsyncClient.upload_file = refuse
    try:
        for n in range(count):
            service.submit({"model": "veo3.1-fast", "prompt": f"shared #{n} {upload}", "first_frame_url": image})
        started = time.perf_counter()
        run_engine(engine, 900)
        elapsed = time.perf_counter() - started
    finally:
        AsyncClient.upload_file = original
    inline = len(image) * 4 // 3  # base64
    sent = len(image) + 200 * count if upload else inline * count
    store.dispose()
    return elapsed, sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    process, base_url = _sandbox.start("--task-seconds", "1", "--image-seconds", "0.5", "--progress-interval", "0.2")
    try:
        print("model                end to end, median of", args.repeat, "(s)")
        for model, fields in CASES:
            runs = one_model(base_url, model, fields, args.repeat)
            print(f"{model:20} {statistics.median(runs):6.2f}   (runs: {', '.join(f'{r:.2f}' for r in runs)})")
        for upload in (True, False):
            elapsed, sent = shared_reference(base_url, args.shared, upload)
            how = "storage once" if upload else "inline each "
            print(f"{args.shared} Veo requests, one 4 MB first frame, {how}: {elapsed:6.2f} s, {sent / 2**20:7.1f} MB sent")
    finally:
        _sandbox.stop(process)


if __name__ == "__main__":
    main()
