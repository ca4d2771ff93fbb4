"""Copy as code: a generation's request as Python (this project's ``grsai_api`` client) and as cURL,
to run again outside the studio. The key is always ``$GRSAI_API_KEY``, never the key itself; files
that were uploaded here are named as local files to upload first."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from grsai_api import HOSTS, MODELS
from grsai_api._base import BaseClient

from .connection import valid_url
from .db import Generation
from .generation import file_fields
from .media import FILE_PREFIX

# the fields that name files for a model the catalogue no longer lists (its entry says, for the others)
KNOWN_FILE_FIELDS = ("image_url", "first_frame_url", "last_frame_url", "reference_urls")
UPLOADED = "https://example.com/your-upload/"  # where a file you put in storage yourself would be


def _made_in_sandbox(generation: Generation) -> bool:
    """A live request's service is the base URL it went to; the sandbox's is a name ("sandbox")."""
    return bool(generation.service) and not valid_url(generation.service)


def code_host(generation: Generation, configured: str) -> str:
    """The GrsAI host to name in the code: where the request went, or, for one made in the sandbox
    (a random port on this machine, meaningless elsewhere), the host the deployment's key is for
    (``configured``: "overseas", "domestic" or a URL), else GrsAI's overseas host."""
    if not _made_in_sandbox(generation) and generation.service:
        return generation.service.rstrip("/")
    if configured in HOSTS:
        return HOSTS[configured]
    return configured.rstrip("/") if valid_url(configured) else HOSTS["overseas"]


def _sandbox_note(generation: Generation, base_url: str) -> list[str]:
    if not _made_in_sandbox(generation):
        return []
    host = urlparse(base_url).netloc or base_url
    return [f"# made in the sandbox: this runs against GrsAI ({host}) with your key"]


def _files(params: dict[str, Any], *, addresses: bool = False) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The params with each kept file ("file:refs/ab12.png") replaced by a variable name (for Python)
    or a stand-in address (for cURL), and the list of (variable, local file name) to upload first."""
    uploads: list[tuple[str, str]] = []

    def placeholder(ref: Any) -> Any:
        if isinstance(ref, str) and ref.startswith(FILE_PREFIX):
            name, file_name = f"file_{len(uploads) + 1}", ref.rsplit("/", 1)[-1]
            uploads.append((name, file_name))
            return f"{UPLOADED}{file_name}" if addresses else name
        return ref

    out = dict(params)
    entry = MODELS.get(str(params.get("model") or ""))
    for field in file_fields(entry) if entry is not None else KNOWN_FILE_FIELDS:
        value = out.get(field)  # one file, or a list of them (references, sounds)
        out[field] = [placeholder(v) for v in value] if isinstance(value, list) else placeholder(value)
    if isinstance(out.get("characters"), list):
        out["characters"] = [
            {**c, "url": placeholder(c.get("url"))} if isinstance(c, dict) else c for c in out["characters"]
        ]
    return {k: v for k, v in out.items() if v not in (None, "", [])}, uploads


def _literal(value: Any, names: set[str]) -> str:
    """A Python literal of ``value``, where a placeholder name stays a variable."""
    if isinstance(value, str) and value in names:
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v, names) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_literal(v, names)}" for k, v in value.items()) + "}"
    return repr(value)


def as_python(generation: Generation, base_url: str) -> str:
    params, uploads = _files(generation.request_params())
    entry = MODELS.get(generation.model)
    kind = entry.kind if entry is not None else "video"
    names = {name for name, _ in uploads}
    lines = [*_sandbox_note(generation, base_url), "import os", "", "from grsai_api import Client", ""]
    lines.append(f'with Client(api_key=os.environ["GRSAI_API_KEY"], base_url={base_url!r}) as client:')
    for name, file_name in uploads:
        suffix = file_name.rsplit(".", 1)[-1] if "." in file_name else "png"
        lines.append(f"    with open({file_name!r}, 'rb') as f:  # the file you uploaded in the studio")
        lines.append(f"        {name} = client.upload_file(f.read(), suffix={suffix!r})")
    arguments = ",\n".join(f"        {k}={_literal(v, names)}" for k, v in params.items())
    lines.append(f"    task_id = client.create_{kind}(\n{arguments},\n    )")
    lines.append(f"    task = client.wait(task_id, model={generation.model!r})")
    lines.append("    print(task.urls)" if kind == "image" else "    print(task.video_url)")
    return "\n".join(lines) + "\n"


def _shell(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def as_curl(generation: Generation, base_url: str) -> str:
    params, uploads = _files(generation.request_params(), addresses=True)
    entry = MODELS.get(generation.model)
    path, body = BaseClient._create_request(entry.kind if entry is not None else "video", "-1", params)
    lines = _sandbox_note(generation, base_url)
    if uploads:
        lines.append("# Put the files you uploaded in the studio in storage first (POST")
        lines.append(f"# /client/resource/newUploadToken, then a PUT) and use their addresses for {UPLOADED}….")
    lines.append(f"curl -sS {_shell(base_url.rstrip('/') + path)} \\")
    lines.append('  -H "Authorization: Bearer $GRSAI_API_KEY" \\')
    lines.append("  -H 'Content-Type: application/json' \\")
    lines.append(f"  -d {_shell(json.dumps(body, ensure_ascii=False, indent=2))}")
    return "\n".join(lines) + "\n"
