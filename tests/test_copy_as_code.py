"""Copy as code (issue 12): a generation's request as Python and as cURL. Both are run here against
the sandbox, exactly as shown (the key read from $GRSAI_API_KEY), and neither ever holds the key."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import httpx

from studio.code import as_curl, as_python, code_host
from studio.db import Generation

from .conftest import API_KEY

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRICKY = "It's a \"quoted\" $HOME prompt with a backslash \\ and 'single' quotes"


def row(**fields) -> Generation:
    base = {"kind": "text", "prompt": TRICKY, "aspect_ratio": "16:9", "duration": 10, "size": "small", "model": "sora-2"}
    return Generation(**{**base, **fields})


def test_the_python_runs_as_shown_and_makes_the_same_video(sandbox) -> None:
    code = as_python(row(), sandbox.base_url)
    assert API_KEY not in code and 'os.environ["GRSAI_API_KEY"]' in code
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "GRSAI_API_KEY": API_KEY, "PYTHONPATH": ROOT},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(sandbox.base_url)  # the finished video's address
    assert httpx.get(done.stdout.strip()).content[4:8] == b"ftyp"


def test_the_curl_body_is_the_clients_own_and_the_key_stays_a_variable(sandbox) -> None:
    generation = row(model="veo3.1-fast", duration=8, options={"first_frame_url": "file:refs/abc123.png"})
    command = as_curl(generation, sandbox.base_url)
    assert API_KEY not in command and '"Authorization: Bearer $GRSAI_API_KEY"' in command
    words = shlex.split(command.split("\n", 2)[-1].replace("$GRSAI_API_KEY", API_KEY), comments=True)
    url = words[2]
    body = json.loads(words[words.index("-d") + 1])
    assert url == f"{sandbox.base_url}/v1/video/veo" and body["prompt"] == TRICKY  # quotes survive the shell
    assert body["firstFrameUrl"].endswith("/abc123.png") and "upload" in command.lower()
    python = as_python(generation, sandbox.base_url)
    assert "file_1 = client.upload_file" in python and "first_frame_url=file_1" in python
    compile(python, "copied.py", "exec")
    reply = httpx.post(url, json={**body, "firstFrameUrl": None}, headers={"Authorization": f"Bearer {API_KEY}"})
    assert reply.json()["code"] == 0  # what the cURL sends, the service takes (here with no frame)


def test_an_image_request_copies_as_create_image(sandbox) -> None:
    generation = row(model="gpt-image-2", kind="text", aspect_ratio="1:1", options={"variants": 2})
    python = as_python(generation, sandbox.base_url)
    assert "client.create_image(" in python and "variants=2" in python and "print(task.urls)" in python
    command = as_curl(generation, sandbox.base_url)
    assert "/v1/draw/completions" in command and '"variants": 2' in command


def test_the_code_names_the_host_the_key_is_for() -> None:
    live = row(service="https://grsai.dakka.com.cn")
    assert code_host(live, "overseas") == "https://grsai.dakka.com.cn"  # where it was sent
    assert "made in the sandbox" not in as_python(live, code_host(live, "overseas"))
    made_here = row(service="sandbox")
    assert code_host(made_here, "domestic") == "https://grsai.dakka.com.cn"  # the deployment's real host
    assert code_host(made_here, "https://proxy.example.com/") == "https://proxy.example.com"
    assert code_host(made_here, "not a host") == "https://grsaiapi.com"
    curl = as_curl(made_here, code_host(made_here, "domestic"))
    assert curl.startswith("# made in the sandbox: this runs against GrsAI (grsai.dakka.com.cn) with your key\n")
    assert "curl -sS 'https://grsai.dakka.com.cn/v1/video/sora-video'" in curl


def test_every_file_a_model_takes_is_an_upload_first_never_a_local_path(sandbox) -> None:
    """GPT image 2.5's mask and MiniMax H3's reference sounds were copied as 'file:…' paths that
    exist only here: every field the model's catalogue entry says names files becomes an upload."""
    mask = row(model="gpt-image-2.5", kind="image", aspect_ratio="1:1",
               options={"mask_url": "file:refs/mask01.png", "reference_urls": ["file:refs/shoe02.png"]})  # fmt: skip
    sound = row(model="minimax-h3", duration=6, options={"audio_urls": ["file:refs/tune03.wav"]})
    for generation, names in ((mask, ("mask01.png", "shoe02.png")), (sound, ("tune03.wav",))):
        python, command = as_python(generation, sandbox.base_url), as_curl(generation, sandbox.base_url)
        assert "file:" not in python and "file:" not in command
        for name in names:
            assert f"{name}" in python and f"/your-upload/{name}" in command
        compile(python, "copied.py", "exec")
